package io.minference.llama;

import io.minference.runtime.Tensor;
import java.util.List;

/**
 * All of a model's weights, on the host. Every tensor is F32 on the CPU path (model files in other types are
 * converted at load).
 *
 * @param tokenEmbedding  [vocabSize, dim]
 * @param layers          one entry per transformer block
 * @param outputNorm      final RMSNorm weight, [dim]
 * @param classifier      vocabulary projection, [vocabSize, dim]; the same object as tokenEmbedding when shared
 * @param ropeFreqFactors Llama-3.1 RoPE scaling as per-frequency divisors ([headDim/2], GGUF's rope_freqs.weight),
 *                        or null for plain RoPE
 */
public record LlamaWeights(Tensor tokenEmbedding, List<LayerWeights> layers, Tensor outputNorm, Tensor classifier,
                           float[] ropeFreqFactors) implements AutoCloseable {

    public boolean sharedClassifier() {
        return classifier == tokenEmbedding;
    }

    @Override
    public void close() {
        layers.forEach(LayerWeights::close);
        tokenEmbedding.close();
        outputNorm.close();
        if (!sharedClassifier()) classifier.close();
    }
}
