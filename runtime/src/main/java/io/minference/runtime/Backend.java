package io.minference.runtime;

/** A compute device behind one interface: the CPU now, CUDA later. */
public interface Backend extends AutoCloseable {
    /** A short name such as "cpu" or "cuda:0". */
    String name();

    /**
     * The matrix product of a block of token rows with a weight matrix stored row-major as [out, in]:
     * {@code out[t, n] = Σ_k x[t, k] · w[n, k]} for {@code t < rows}. All tensors are F32; {@code x} is
     * [≥rows, K] (or [K] when rows is 1), {@code w} is [N, K], {@code out} is [≥rows, N] (or [N]).
     */
    void matmul(Tensor x, Tensor w, Tensor out, int rows);

    @Override
    void close();
}
