package io.minference.runtime;

/** Receives progress of a long operation (model loading, prefill) so that a front end can draw a progress bar. */
@FunctionalInterface
public interface ProgressListener {
    ProgressListener NONE = (stage, done, total) -> { };

    /**
     * @param stage what is running, e.g. "loading" or "prefill"
     * @param done  units done so far
     * @param total units in all
     */
    void progress(String stage, long done, long total);
}
