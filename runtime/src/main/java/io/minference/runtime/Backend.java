package io.minference.runtime;

/**
 * A compute device behind one interface. {@link Backends#select(String)} picks one from a --device value:
 * {@code io.minference.runtime.cpu.CpuBackend} (all cores, Vector API) or
 * {@code io.minference.runtime.cuda.CudaBackend} (the NVIDIA driver through java.lang.foreign).
 */
public interface Backend extends AutoCloseable {
    /** A short name such as "cpu" or "cuda:0". */
    String name();

    @Override
    void close();
}
