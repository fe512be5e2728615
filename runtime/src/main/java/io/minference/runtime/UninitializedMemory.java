package io.minference.runtime;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Native memory from the C library's aligned_alloc, handed out without the zeroing that {@link Arena#allocate}
 * always does. Zeroing gigabytes on one thread before a loader overwrites them in parallel costs seconds; here the
 * pages are first touched by whoever fills them. Freed when the returned arena closes.
 */
final class UninitializedMemory {
    static final long ALIGNMENT = 64;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle ALIGNED_ALLOC = LINKER.downcallHandle(
            LINKER.defaultLookup().find("aligned_alloc").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
    private static final MethodHandle FREE = LINKER.downcallHandle(
            LINKER.defaultLookup().find("free").orElseThrow(), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));

    private UninitializedMemory() {
    }

    /** {@code bytes} of memory (at least one) owned by {@code arena}, freed when it closes. */
    static MemorySegment allocate(Arena arena, long bytes) {
        // aligned_alloc wants a size that is a multiple of the alignment
        long size = Math.max(ALIGNMENT, (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT);
        MemorySegment raw;
        try {
            raw = (MemorySegment) ALIGNED_ALLOC.invokeExact(ALIGNMENT, size);
        } catch (Throwable e) {
            throw new IllegalStateException("aligned_alloc of " + size + " bytes failed", e);
        }
        if (raw.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("out of native memory: cannot allocate " + size + " bytes");
        }
        return raw.reinterpret(size, arena, UninitializedMemory::free);
    }

    private static void free(MemorySegment segment) {
        try {
            FREE.invokeExact(segment);
        } catch (Throwable e) {
            throw new IllegalStateException("free failed", e);
        }
    }
}
