package io.minference.app.server;

/** A generation stopped because its client went away. */
public final class GenerationCancelledException extends RuntimeException {
    public GenerationCancelledException() {
        super("the client went away: generation cancelled");
    }
}
