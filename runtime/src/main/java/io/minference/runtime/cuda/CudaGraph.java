package io.minference.runtime.cuda;

import java.lang.foreign.MemorySegment;

/**
 * Work recorded once by stream capture and instantiated, replayed with one launch: the launches inside run with
 * the arguments they were captured with, reading whatever their buffers hold at replay time.
 */
public final class CudaGraph implements AutoCloseable {
    private final CudaContext context;
    private final MemorySegment graph;
    private final MemorySegment executable;
    private boolean closed;

    CudaGraph(CudaContext context, MemorySegment graph, MemorySegment executable) {
        this.context = context;
        this.graph = graph;
        this.executable = executable;
    }

    /** Queues one replay of the graph on {@code stream}. */
    public void launch(CudaStream stream) {
        if (closed) throw new IllegalStateException("CUDA graph launched after close");
        context.makeCurrent();
        context.driver().graphLaunch(executable, stream.handle());
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (!context.isClosed()) {
            context.makeCurrent();
            context.driver().graphExecDestroy(executable);
            context.driver().graphDestroy(graph);
        }
    }
}
