package io.minference.llama;

import io.minference.runtime.Tensor;

/**
 * One transformer block's weights. Matrices are row-major [out, in], so that y = W·x reads row by row.
 *
 * @param attentionNorm RMSNorm weight before attention, [dim]
 * @param wq            query projection, [numHeads·headDim, dim]; rows in the pairwise (interleaved) RoPE order
 * @param wk            key projection, [kvDim, dim]; rows in the pairwise (interleaved) RoPE order
 * @param wv            value projection, [kvDim, dim]
 * @param wo            attention output projection, [dim, numHeads·headDim]
 * @param ffnNorm       RMSNorm weight before the MLP, [dim]
 * @param wGate         SwiGLU gate projection (w1), [hiddenDim, dim]
 * @param wDown         down projection (w2), [dim, hiddenDim]
 * @param wUp           up projection (w3), [hiddenDim, dim]
 */
public record LayerWeights(Tensor attentionNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo,
                           Tensor ffnNorm, Tensor wGate, Tensor wDown, Tensor wUp) implements AutoCloseable {
    @Override
    public void close() {
        for (Tensor t : new Tensor[] {attentionNorm, wq, wk, wv, wo, ffnNorm, wGate, wDown, wUp}) t.close();
    }
}
