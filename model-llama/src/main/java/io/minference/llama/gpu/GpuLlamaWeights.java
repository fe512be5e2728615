package io.minference.llama.gpu;

import io.minference.kernels.transformer.RopeFrequencies;
import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.LlamaWeights;
import io.minference.llama.forward.WeightShapes;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.DeviceTensor;
import java.util.ArrayList;
import java.util.List;

/**
 * A model's weights on the device: matrices in bf16, norms and the RoPE frequency table in f32. The feed-forward
 * size is padded up to a multiple of 8 ({@link #paddedHidden}) because the kernels move 16-byte vectors; the padded
 * features have zero weights and so add nothing.
 *
 * @param tokenEmbedding bf16 [vocab, dim]
 * @param outputNorm     f32 [dim]
 * @param classifier     bf16 [vocab, dim]; the same object as tokenEmbedding when the model shares them
 * @param ropeFrequencies f32 [headDim/2][2], {@link RopeFrequencies#table}
 */
public record GpuLlamaWeights(LlamaConfig config, int paddedHidden, DeviceTensor tokenEmbedding,
                              List<GpuLayerWeights> layers, DeviceTensor outputNorm, DeviceTensor classifier,
                              DeviceTensor ropeFrequencies) implements AutoCloseable {

    /** The feed-forward size rounded up to a multiple of 8. */
    public static int paddedHidden(LlamaConfig config) {
        return (config.hiddenDim() + 7) / 8 * 8;
    }

    /** Uploads a loaded model's F32 weights. */
    public static GpuLlamaWeights upload(CudaContext context, LlamaModel model) {
        return upload(context, model.config(), model.weights());
    }

    public static GpuLlamaWeights upload(CudaContext context, LlamaConfig config, LlamaWeights weights) {
        requireKernelShapes(config);
        WeightShapes.check(config, weights);
        int hidden = paddedHidden(config);
        List<AutoCloseable> made = new ArrayList<>();
        try {
            DeviceTensor embedding = track(made, bf16(context, Bf16Packing.padded(weights.tokenEmbedding(),
                    config.dim())));
            DeviceTensor classifier = weights.sharedClassifier() ? embedding
                    : track(made, bf16(context, Bf16Packing.padded(weights.classifier(), config.dim())));
            DeviceTensor outputNorm = track(made, DeviceTensor.upload(context, weights.outputNorm()));
            DeviceTensor rope = track(made, DeviceTensor.upload(context, Tensor.ofFloats(
                    RopeFrequencies.table(config.headDim(), config.ropeTheta(), weights.ropeFreqFactors()),
                    config.headDim() / 2, 2)));
            List<GpuLayerWeights> layers = new ArrayList<>();
            int qDim = config.numHeads() * config.headDim();
            int kvDim = config.kvDim();
            for (LayerWeights w : weights.layers()) {
                GpuLayerWeights layer = new GpuLayerWeights(
                        DeviceTensor.upload(context, w.attentionNorm()),
                        bf16(context, Bf16Packing.stack(qDim + 2L * kvDim, config.dim(),
                                new long[] {0, qDim, qDim + kvDim}, w.wq(), w.wk(), w.wv())),
                        bf16(context, Bf16Packing.padded(w.wo(), qDim)),
                        DeviceTensor.upload(context, w.ffnNorm()),
                        bf16(context, Bf16Packing.stack(2L * hidden, config.dim(), new long[] {0, hidden},
                                w.wGate(), w.wUp())),
                        bf16(context, Bf16Packing.padded(w.wDown(), hidden)));
                track(made, layer);
                layers.add(layer);
            }
            return new GpuLlamaWeights(config, hidden, embedding, List.copyOf(layers), outputNorm, classifier, rope);
        } catch (RuntimeException e) {
            for (AutoCloseable c : made.reversed()) {
                try {
                    c.close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    /** The shapes the transformer kernels take: 16-byte vectors of bf16 across every width. */
    static void requireKernelShapes(LlamaConfig config) {
        if (config.dim() % 8 != 0 || config.headDim() % 8 != 0) {
            throw new IllegalArgumentException("the GPU forward pass needs the embedding length and head size to be"
                    + " multiples of 8, got " + config.dim() + " and " + config.headDim());
        }
    }

    private static <T extends AutoCloseable> T track(List<AutoCloseable> made, T resource) {
        made.add(resource);
        return resource;
    }

    private static DeviceTensor bf16(CudaContext context, Tensor packed) {
        try (packed) {
            return DeviceTensor.upload(context, packed);
        }
    }

    public boolean sharedClassifier() {
        return classifier == tokenEmbedding;
    }

    @Override
    public void close() {
        layers.forEach(GpuLayerWeights::close);
        tokenEmbedding.close();
        if (!sharedClassifier()) classifier.close();
        outputNorm.close();
        ropeFrequencies.close();
    }
}
