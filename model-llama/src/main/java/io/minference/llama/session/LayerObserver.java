package io.minference.llama.session;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.Tensor;

/**
 * Sees one layer's attention inputs during a dense prefill (RoPE applied): how pattern pictures, pattern search and
 * the recall evaluation read real attention. The tensors are F32, valid only during the call: queries
 * {@code [length, queryDim]}, keys and values {@code [≥length, kvDim]}.
 */
@FunctionalInterface
public interface LayerObserver {
    void layer(int layer, AttentionShape shape, Tensor queries, Tensor keys, Tensor values, int length);
}
