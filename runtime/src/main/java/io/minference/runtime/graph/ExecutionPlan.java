package io.minference.runtime.graph;

import io.minference.runtime.cuda.CudaGraph;
import io.minference.runtime.cuda.CudaStream;

/**
 * Runs an {@link ImmutableTaskGraph} on a stream. With CUDA graphs (the default) the first execution records the
 * tasks once by stream capture and every execution replays that recording with a single launch; without, each
 * execution queues the tasks one by one (eager). Either way {@link #execute()} waits for the work to finish.
 */
public final class ExecutionPlan implements AutoCloseable {
    private final ImmutableTaskGraph graph;
    private final CudaStream stream;
    private boolean useCudaGraph = true;
    private CudaGraph recorded;
    private long executions;

    public ExecutionPlan(ImmutableTaskGraph graph, CudaStream stream) {
        this.graph = graph;
        this.stream = stream;
    }

    /** Chooses replaying a recorded CUDA graph (true) or eager launches (false); only before the first execution. */
    public ExecutionPlan withCudaGraph(boolean enabled) {
        if (executions > 0) throw new IllegalStateException("plan '" + graph.name() + "' has already executed");
        useCudaGraph = enabled;
        return this;
    }

    public ImmutableTaskGraph graph() {
        return graph;
    }

    /** Queues one execution on the stream without waiting for it. */
    public void executeAsync() {
        if (useCudaGraph) {
            if (recorded == null) recorded = stream.capture(this::enqueueAll);
            recorded.launch(stream);
        } else {
            enqueueAll();
        }
        executions++;
    }

    /** Runs the graph once and waits for it. */
    public void execute() {
        executeAsync();
        stream.synchronize();
    }

    private void enqueueAll() {
        for (Task task : graph.tasks()) {
            try {
                task.enqueue(stream);
            } catch (RuntimeException e) {
                throw new IllegalStateException("task '" + task.name() + "' of graph '" + graph.name() + "' failed: "
                        + e.getMessage(), e);
            }
        }
    }

    /** Whether a CUDA graph has been recorded (after the first execution, with CUDA graphs on). */
    public boolean isRecorded() {
        return recorded != null;
    }

    public long executions() {
        return executions;
    }

    @Override
    public void close() {
        if (recorded != null) recorded.close();
        recorded = null;
    }
}
