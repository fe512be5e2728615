package io.minference.runtime.cuda;

import java.lang.foreign.MemorySegment;

/** Page-locked host memory ({@code cuMemAllocHost}), freed by {@link #close()}. */
public final class PinnedHostBuffer implements AutoCloseable {
    private final CudaContext context;
    private final MemorySegment segment;
    private boolean closed;

    PinnedHostBuffer(CudaContext context, MemorySegment segment) {
        this.context = context;
        this.segment = segment;
    }

    /** The memory, readable and writable from Java. */
    public MemorySegment segment() {
        if (closed) throw new IllegalStateException("pinned buffer used after close");
        return segment;
    }

    public long byteSize() {
        return segment.byteSize();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (!context.isClosed()) {
            context.makeCurrent();
            context.driver().memFreeHost(segment);
        }
    }
}
