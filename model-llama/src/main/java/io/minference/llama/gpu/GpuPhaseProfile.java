package io.minference.llama.gpu;

import io.minference.kernels.flash.PhaseMarks;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaStream;
import java.util.Map;

/**
 * A device-time breakdown of a prefill by phase: an {@link EventTimeline} of the {@link PhaseMarks} marks, each
 * interval between two marks counted to the phase the first one opened.
 */
public final class GpuPhaseProfile implements PhaseMarks, AutoCloseable {
    private final EventTimeline<Phase> timeline;

    public GpuPhaseProfile(CudaContext context) {
        this.timeline = new EventTimeline<>(context, Phase.class);
    }

    @Override
    public void mark(CudaStream stream, Phase phase) {
        timeline.mark(stream, phase);
    }

    /** Closes the last interval and returns milliseconds per phase since the first mark (waits for the device). */
    public Map<Phase, Double> finish(CudaStream stream) {
        return timeline.finish(stream, Phase.OTHER);
    }

    @Override
    public void close() {
        timeline.close();
    }
}
