/**
 * Causal self-attention behind one interface, {@link io.minference.kernels.attention.CausalAttention}: the forward
 * pass hands it a block of queries and the layer's KV cache, so that a sparse implementation (MInference's
 * patterns) can replace the dense one for prefill without any change to the model.
 */
package io.minference.kernels.attention;
