package io.minference.kernels.attention;

import io.minference.runtime.Tensor;

/**
 * Causal attention of a whole prompt at once, layer by layer: the queries of positions {@code [0, length)} against
 * the layer's cache rows {@code [0, length)}. Sparse prefill needs this view (it estimates its indices from the last
 * queries of the prompt, so it must see the prompt whole); the forward pass then runs the prompt layer-major.
 * Tensors are F32 with the layouts of {@link CausalAttention} ({@code queries} and {@code out}
 * {@code [≥length, queryDim]}, {@code keys} and {@code values} {@code [≥length, kvDim]}).
 */
public interface PromptAttention {
    /** Fills rows {@code [0, length)} of {@code out}. */
    void attend(int layer, AttentionShape shape, Tensor queries, Tensor keys, Tensor values, Tensor out, int length);

    /** Dense attention through {@code blockAttention}, {@code blockSize} queries at a time (bounded scratch). */
    static PromptAttention dense(CausalAttention blockAttention, int blockSize) {
        if (blockSize < 1) throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        return (layer, shape, queries, keys, values, out, length) -> {
            for (int start = 0; start < length; start += blockSize) {
                int count = Math.min(blockSize, length - start);
                long rowBytes = 4L * shape.queryDim();
                Tensor q = Tensor.wrap(queries.dtype(), queries.data().asSlice(start * rowBytes, count * rowBytes),
                        count, shape.queryDim());
                Tensor o = Tensor.wrap(out.dtype(), out.data().asSlice(start * rowBytes, count * rowBytes),
                        count, shape.queryDim());
                blockAttention.attend(layer, shape, q, keys, values, o, start, count);
            }
        };
    }
}
