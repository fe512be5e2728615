package io.minference.llama.session;

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

    /** Positions processed so far: the next token goes to this position. */
    int position();

    /** Positions this sequence may hold. */
    int capacity();

    @Override
    void close();
}
