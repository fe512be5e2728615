package io.minference.app.server;

/** Asked between two tokens and two prefill blocks whether the client still wants the generation. */
@FunctionalInterface
public interface Cancellation {
    Cancellation NEVER = () -> false;

    boolean isCancelled();
}
