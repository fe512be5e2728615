package io.minference.runtime.cuda;

import java.lang.foreign.MemorySegment;

/** A CUDA event: a marker recorded in a stream, used to wait for work or to time it on the device. */
public final class CudaEvent implements AutoCloseable {
    private final CudaContext context;
    private final MemorySegment handle;
    private boolean closed;

    CudaEvent(CudaContext context) {
        this.context = context;
        this.handle = context.driver().eventCreate(0);
    }

    public MemorySegment handle() {
        if (closed) throw new IllegalStateException("CUDA event used after close");
        return handle;
    }

    /** Records the event after the work queued so far on {@code stream}. */
    public void record(CudaStream stream) {
        context.makeCurrent();
        context.driver().eventRecord(handle(), stream.handle());
    }

    /** Waits until the recorded work has finished. */
    public void synchronize() {
        context.makeCurrent();
        context.driver().eventSynchronize(handle());
    }

    /** Milliseconds from {@code start} to this event, both recorded; waits for this event first. */
    public float elapsedMillisSince(CudaEvent start) {
        synchronize();
        return context.driver().eventElapsedMillis(start.handle(), handle());
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (!context.isClosed()) {
            context.makeCurrent();
            context.driver().eventDestroy(handle);
        }
    }
}
