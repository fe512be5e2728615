package io.minference.llama.forward;

import io.minference.runtime.ProgressListener;

/**
 * What the CPU ({@link LlamaForward}) and the GPU ({@link io.minference.llama.gpu.GpuLlamaForward}) forward passes of
 * one sequence have in common: a dense prefill that keeps the logits of the last positions, and decode steps. Their
 * layer-major (sparse) prefills differ in the attention they take, host or device.
 */
public interface ForwardPass extends AutoCloseable {
    /**
     * Runs {@code tokens} from the current position with dense attention and returns the logits of the last
     * {@code logitsToKeep} tokens. Reports ("prefill", tokens done, tokens in all).
     */
    float[][] prefill(int[] tokens, ProgressListener progress, int logitsToKeep);

    /** Runs one token at the current position and returns the logits that predict the next. */
    float[] decode(int token);

    /** Positions processed so far: the next token goes to this position. */
    int position();

    /** Positions this sequence may hold. */
    int capacity();

    @Override
    void close();
}
