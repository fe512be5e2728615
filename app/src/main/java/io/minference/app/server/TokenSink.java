package io.minference.app.server;

/** Receives a generation's text as it is produced, and the progress of its prefill. */
public interface TokenSink {
    /** A piece of generated text (never empty). */
    void text(String piece);

    /** @param stage "prefill"; done and total in tokens */
    default void progress(String stage, long done, long total) {
    }
}
