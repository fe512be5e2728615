package io.minference.runtime.cpu.x86;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Machine code made callable: the bytes are copied into pages of their own, mapped writable and then switched to
 * read-and-execute (never both at once), and called through a downcall handle like any C function.
 *
 * <p>The pages are never unmapped: a kernel is generated once per process and lives as long as the classes that
 * hold its handle.
 */
public final class NativeCode {
    private static final int PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    private static final int MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final MethodHandle MMAP = function("mmap", FunctionDescriptor.of(ValueLayout.ADDRESS,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    private static final MethodHandle MPROTECT = function("mprotect", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));

    private NativeCode() {
    }

    /**
     * A handle calling {@code code} as a function of {@code signature}. {@code critical} calls skip the thread-state
     * transition: for short kernels that neither block nor call back, where the transition would cost more than they
     * do.
     */
    public static MethodHandle load(byte[] code, FunctionDescriptor signature, boolean critical) {
        long bytes = (code.length + 4095) & ~4095L;
        MemorySegment pages;
        try {
            pages = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
            if (pages.address() == -1L) throw new IllegalStateException("mmap of " + bytes + " bytes failed");
            pages = pages.reinterpret(bytes);
            MemorySegment.copy(code, 0, pages, ValueLayout.JAVA_BYTE, 0, code.length);
            int status = (int) MPROTECT.invokeExact(pages, bytes, PROT_READ | PROT_EXEC);
            if (status != 0) throw new IllegalStateException("mprotect to read-and-execute failed");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        return critical ? LINKER.downcallHandle(pages, signature, Linker.Option.critical(false))
                : LINKER.downcallHandle(pages, signature);
    }

    /** A libc function, or an error naming it. */
    static MethodHandle function(String name, FunctionDescriptor signature, Linker.Option... options) {
        MemorySegment symbol = LIBC.find(name)
                .orElseThrow(() -> new IllegalStateException("the C library has no " + name));
        return LINKER.downcallHandle(symbol, signature, options);
    }
}
