package io.minference.runtime;

/** A compute device behind one interface: the CPU now, CUDA later. (Owned by the CPU-compute work; stub.) */
public interface Backend extends AutoCloseable {
    /** A short name such as "cpu" or "cuda:0". */
    String name();

    @Override
    void close();
}
