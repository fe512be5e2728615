package io.minference.app.server;

import java.time.Duration;

/** A request's deadline, counted from its admission: waiting in the queue uses it up as working does. */
record Deadline(long endNanos, Duration timeout) {

    static Deadline after(Duration timeout) {
        return new Deadline(System.nanoTime() + timeout.toNanos(), timeout);
    }

    boolean expired() {
        return System.nanoTime() - endNanos >= 0;
    }

    /** The error a request past its deadline gets: 504, naming the limit and the flag that sets it. */
    ApiException error() {
        return new ApiException(504, "timeout", null, "the request ran past the server's request timeout of "
                + timeout.toSeconds() + " s (--request-timeout) and was stopped");
    }
}
