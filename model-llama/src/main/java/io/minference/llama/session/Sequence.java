package io.minference.llama.session;

import io.minference.llama.gpu.DecodeBreakdown;
import io.minference.llama.gpu.GpuLlamaForward;
import java.util.Optional;

/**
 * One sequence's KV cache on the session's backend: a prefill, then decode steps. Made by
 * {@link LlamaSession#newSequence}; close it to free the cache.
 */
public interface Sequence extends AutoCloseable {
    /**
     * Prefills {@code tokens} from position 0 (a sparse plan needs the whole prompt at once; a dense one may also
     * continue a sequence) and returns the logits of the last {@code options.logitsToKeep()} positions.
     */
    PrefillResult prefill(int[] tokens, PrefillOptions options);

    /** Runs one token at the current position and returns the logits that predict the next. */
    float[] decode(int token);

    /**
     * Runs one token at the current position and returns the greedy choice of the next: on a GPU chosen on the
     * device, so that only its id crosses to the host.
     */
    int decodeGreedy(int token);

    /**
     * On a GPU, runs one token like {@link #decodeGreedy}, with its launches queued one by one between CUDA events,
     * and returns its device time by kind of work (see {@link GpuLlamaForward#profileDecodeStep}); elsewhere runs
     * nothing and returns empty, as there is no device time to break down.
     */
    default Optional<DecodeBreakdown> profileDecodeGreedy(int token) {
        return Optional.empty();
    }

    /** Positions processed so far: the next token goes to this position. */
    int position();

    /** Positions this sequence may hold. */
    int capacity();

    @Override
    void close();
}
