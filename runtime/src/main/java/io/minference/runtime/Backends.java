package io.minference.runtime;

/** Chooses a backend from a --device value. (Owned by the CPU-compute work; stub.) */
public final class Backends {
    private Backends() {
    }

    /** @param device "auto", "cpu", "cuda" or "cuda:N" */
    public static Backend select(String device) {
        throw new UnsupportedOperationException("stub");
    }
}
