package io.minference.kernels.flash;

import io.minference.runtime.cuda.CudaStream;

/**
 * Where a timing breakdown wants marks on the stream: the forward pass marks the start of each phase of a layer
 * (linear layers, attention, KV store) and a prompt attention marks where its estimation and index building begin
 * and end inside the attention phase. A profiler records a CUDA event at each mark; {@link #NONE} records nothing,
 * so that the marks cost nothing outside a benchmark.
 */
public interface PhaseMarks {
    /**
     * The phases a breakdown reports. {@code COMBINE} is marked only by a split-K decode, before it merges its
     * splits' partials, for the decode breakdown.
     */
    enum Phase { LINEAR, ATTENTION, INDEX, KV_STORE, OTHER, COMBINE }

    /** The work queued on {@code stream} from now on belongs to {@code phase}, until the next mark. */
    void mark(CudaStream stream, Phase phase);

    PhaseMarks NONE = (stream, phase) -> { };
}
