package io.minference.kernels.attention;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;

/**
 * Causal attention of one block of consecutive queries against a layer's KV cache.
 *
 * <p>The queries are those of positions [start, start + count); the cache already holds keys and values for
 * positions [0, start + count), the block's own included, with RoPE applied to queries and keys. Query row t
 * (position start + t) attends to cache positions [0, start + t]. Key/value heads are read in place: query head h
 * uses KV head h / groupSize, and nothing is copied per query head.
 *
 * <p>Implementations: the dense {@link CpuCausalAttention}; a sparse prefill (vertical-slash, block-sparse ...) may
 * use {@code layer} to choose its per-head pattern.
 */
public interface CausalAttention {
    /**
     * @param layer   index of the transformer block
     * @param shape   head layout
     * @param queries [≥count, queryDim] F32
     * @param keys    the layer's key cache, [capacity ≥ start + count, kvDim] F32
     * @param values  the layer's value cache, same shape as keys
     * @param out     [≥count, queryDim] F32, distinct from queries; row t receives the heads of query t side by side
     * @param start   position of the first query
     * @param count   queries in the block
     */
    void attend(int layer, AttentionShape shape, Tensor queries, Tensor keys, Tensor values, Tensor out,
                int start, int count);

    /** Checks the arguments of {@link #attend} and throws a clear exception when they do not fit together. */
    static void checkArguments(AttentionShape shape, Tensor queries, Tensor keys, Tensor values, Tensor out,
                               int start, int count) {
        if (start < 0 || count < 1) {
            throw new IllegalArgumentException("attention block needs start >= 0 and count >= 1, got start " + start
                    + ", count " + count);
        }
        requireRows(queries, count, shape.queryDim(), "queries");
        requireRows(out, count, shape.queryDim(), "output");
        requireRows(keys, start + count, shape.kvDim(), "key cache");
        requireRows(values, start + count, shape.kvDim(), "value cache");
        if (queries.data().address() == out.data().address() && queries.data().isNative()) {
            throw new IllegalArgumentException("attention output must not overwrite its queries");
        }
    }

    private static void requireRows(Tensor t, long rows, int width, String what) {
        boolean ok = t.dtype() == DType.F32 && t.rank() == 2 && t.dim(0) >= rows
                && t.dim(1) == width;
        if (!ok) {
            throw new IllegalArgumentException("attention " + what + " must be F32 [>=" + rows + ", " + width
                    + "], got " + t);
        }
    }
}
