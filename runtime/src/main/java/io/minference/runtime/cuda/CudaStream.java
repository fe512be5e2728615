package io.minference.runtime.cuda;

import java.lang.foreign.MemorySegment;

/**
 * A non-blocking CUDA stream: work queued on it runs in order, asynchronously to the host. {@link #capture} records
 * the work a piece of code queues into a {@link CudaGraph} instead of running it.
 */
public final class CudaStream implements AutoCloseable {
    private static final int NON_BLOCKING = 0x1;
    // CU_STREAM_CAPTURE_MODE_THREAD_LOCAL: only this thread's unsafe calls (allocations...) break the capture
    private static final int CAPTURE_MODE_THREAD_LOCAL = 1;

    private final CudaContext context;
    private final MemorySegment handle;
    private boolean closed;
    private boolean capturing;

    CudaStream(CudaContext context) {
        this.context = context;
        this.handle = context.driver().streamCreate(NON_BLOCKING);
    }

    public CudaContext context() {
        return context;
    }

    /** The {@code CUstream} handle. */
    public MemorySegment handle() {
        if (closed) throw new IllegalStateException("CUDA stream used after close");
        return handle;
    }

    /** Waits until all work queued so far has finished; errors of that work surface here. */
    public void synchronize() {
        context.makeCurrent();
        context.driver().streamSynchronize(handle());
    }

    /**
     * Makes the work queued on this stream from now on wait until {@code event}'s last recorded work has finished
     * (on whichever stream it was recorded), without blocking the host.
     */
    public void waitFor(CudaEvent event) {
        context.makeCurrent();
        context.driver().streamWaitEvent(handle(), event.handle());
    }

    /**
     * Whether {@link #capture} is recording this stream's work now: work queued meanwhile is recorded, not run, so
     * nothing may wait for it (a timing, a synchronization).
     */
    public boolean isCapturing() {
        return capturing;
    }

    /**
     * Runs {@code work}, which queues launches and copies on this stream, under stream capture, and instantiates the
     * captured work as a graph; nothing runs until the graph is launched.
     */
    public CudaGraph capture(Runnable work) {
        context.makeCurrent();
        CudaDriver driver = context.driver();
        driver.streamBeginCapture(handle(), CAPTURE_MODE_THREAD_LOCAL);
        MemorySegment graph;
        capturing = true;
        try {
            work.run();
        } catch (RuntimeException | Error e) {
            try {
                MemorySegment broken = driver.streamEndCapture(handle);
                if (!broken.equals(MemorySegment.NULL)) driver.graphDestroy(broken);
            } catch (CudaException endFailed) {
                e.addSuppressed(endFailed);
            }
            throw e;
        } finally {
            capturing = false;
        }
        graph = driver.streamEndCapture(handle);
        try {
            return new CudaGraph(context, graph, driver.graphInstantiate(graph, 0));
        } catch (CudaException e) {
            driver.graphDestroy(graph);
            throw e;
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (!context.isClosed()) {
            context.makeCurrent();
            context.driver().streamDestroy(handle);
        }
    }
}
