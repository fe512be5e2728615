package io.minference.llama;

import io.minference.runtime.Tensor;
import java.util.List;

/**
 * All of a model's weights, on the host. Norms are F32; matrices are F32 or, read in place from a memory-mapped model
 * file, in any type the CPU backend computes on (quantized blocks, F16, BF16).
 *
 * @param tokenEmbedding  [vocabSize, dim]
 * @param layers          one entry per transformer block
 * @param outputNorm      final RMSNorm weight, [dim]
 * @param classifier      vocabulary projection, [vocabSize, dim]; the same object as tokenEmbedding when shared
 * @param ropeFreqFactors Llama-3.1 RoPE scaling as per-frequency divisors ([headDim/2], GGUF's rope_freqs.weight),
 *                        or null for plain RoPE
 * @param mapping         what the tensors are views of (an open model file), closed after them
 */
public record LlamaWeights(Tensor tokenEmbedding, List<LayerWeights> layers, Tensor outputNorm, Tensor classifier,
                           float[] ropeFreqFactors, AutoCloseable mapping) implements AutoCloseable {

    /** Weights that own their memory. */
    public LlamaWeights(Tensor tokenEmbedding, List<LayerWeights> layers, Tensor outputNorm, Tensor classifier,
                        float[] ropeFreqFactors) {
        this(tokenEmbedding, layers, outputNorm, classifier, ropeFreqFactors, () -> { });
    }

    public boolean sharedClassifier() {
        return classifier == tokenEmbedding;
    }

    @Override
    public void close() {
        layers.forEach(LayerWeights::close);
        tokenEmbedding.close();
        outputNorm.close();
        if (!sharedClassifier()) classifier.close();
        try {
            mapping.close();
        } catch (Exception e) {
            throw new IllegalStateException("cannot release the weights' mapping: " + e.getMessage(), e);
        }
    }
}
