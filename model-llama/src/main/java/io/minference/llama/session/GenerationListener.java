package io.minference.llama.session;

import io.minference.runtime.ProgressListener;

/**
 * Receives a generation as it goes: prefill progress, then each generated token with the text it releases. Text is
 * released as soon as it is whole UTF-8 and can no longer begin a stop sequence, so a stream never shows a stop
 * sequence, nor part of one that later completes.
 */
public interface GenerationListener extends ProgressListener {
    GenerationListener NONE = new GenerationListener() { };

    @Override
    default void progress(String stage, long done, long total) {
    }

    /**
     * @param token    the generated id (stop tokens are not passed on)
     * @param text     the text released with it, possibly empty
     * @param logprobs its log-probability and the top alternatives, or null when the request asked for none
     */
    default void token(int token, String text, TokenLogprobs logprobs) {
    }

    /** Text released at the end (held-back text that turned out to begin no stop sequence); possibly empty. */
    default void finish(String text) {
    }
}
