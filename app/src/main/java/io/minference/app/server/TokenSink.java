package io.minference.app.server;

/** Receives a generation's text as it is produced, and the progress of its prefill. */
public interface TokenSink {
    /** A piece of generated text (never empty). */
    void text(String piece);

    /**
     * A generated token with its log-probabilities (asked for by the request) and the text it releases, possibly
     * empty (held back while it may begin a stop sequence, or part of a character).
     */
    default void token(String piece, TokenLogprob logprob) {
        if (!piece.isEmpty()) text(piece);
    }

    /** @param stage "prefill"; done and total in tokens */
    default void progress(String stage, long done, long total) {
    }
}
