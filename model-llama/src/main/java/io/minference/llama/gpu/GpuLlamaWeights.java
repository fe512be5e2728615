package io.minference.llama.gpu;

import io.minference.kernels.dequant.DequantizeToBf16;
import io.minference.kernels.transformer.RopeFrequencies;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.LlamaWeights;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.PinnedHostBuffer;
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

    /** Uploads a loaded model's weights. */
    public static GpuLlamaWeights upload(CudaContext context, LlamaModel model) {
        return upload(context, model.config(), model.weights());
    }

    /**
     * Streams the weights to the device tensor by tensor ({@link WeightStreaming}) through one pinned staging buffer of
     * {@link WeightStreaming#DEFAULT_STAGING_BYTES}: rows are copied as they lie in the file (quantized blocks, F16,
     * BF16, F32) to a device scratch buffer of the same size and expanded there into their bf16 tensor
     * ({@link DequantizeToBf16}); rows of a width that kernel cannot take arrive packed to bf16 by the host. The host
     * needs no copy of the model, and no more than the staging buffer.
     */
    public static GpuLlamaWeights upload(CudaContext context, LlamaConfig config, LlamaWeights weights) {
        return upload(context, config, weights, WeightStreaming.DEFAULT_STAGING_BYTES);
    }

    /** {@link #upload(CudaContext, LlamaConfig, LlamaWeights)} through a staging buffer of about {@code stagingBytes}. */
    static GpuLlamaWeights upload(CudaContext context, LlamaConfig config, LlamaWeights weights, long stagingBytes) {
        List<DeviceTensor> made = new ArrayList<>();
        stagingBytes = Math.max(stagingBytes, WeightStreaming.minimumStaging(config));
        try (PinnedHostBuffer staging = context.allocatePinned(stagingBytes);
             DeviceBuffer scratch = context.allocate(stagingBytes);
             CudaStream stream = context.createStream()) {
            WeightStreaming.Sink<DeviceTensor> device = new WeightStreaming.Sink<>() {
                @Override
                public DeviceTensor matrix(String name, long rows, long cols, WeightStreaming.Fill fill) {
                    DeviceTensor t = track(made, DeviceTensor.allocate(context, DType.BF16, rows, cols));
                    fill.into((offset, chunk) -> t.buffer().slice(offset, chunk.byteSize()).copyFromHost(chunk),
                            (firstRow, count, width, type, blocks) -> {
                                DeviceBuffer raw = scratch.slice(0, blocks.byteSize());
                                raw.copyFromHost(blocks);
                                DeviceBuffer out = t.buffer().slice(2 * firstRow * cols, 2 * count * cols);
                                if (width < cols) out.fillBytes((byte) 0);
                                new DequantizeToBf16(type).launch(stream, raw, out, count, width, cols);
                                stream.synchronize(); // the next chunk overwrites the scratch
                            });
                    return t;
                }

                @Override
                public DeviceTensor vector(String name, Tensor values) {
                    return track(made, DeviceTensor.upload(context, values));
                }
            };
            WeightStreaming.Model<DeviceTensor> m = WeightStreaming.stream(config, weights, device,
                    staging.segment());
            List<GpuLayerWeights> layers = m.layers().stream().map(l -> new GpuLayerWeights(l.attentionNorm(),
                    l.wqkv(), l.wo(), l.ffnNorm(), l.wGateUp(), l.wDown())).toList();
            return new GpuLlamaWeights(config, m.paddedHidden(), m.embedding(), layers, m.outputNorm(),
                    m.classifier(), m.ropeFrequencies());
        } catch (RuntimeException e) {
            for (DeviceTensor t : made.reversed()) {
                try {
                    t.close();
                } catch (RuntimeException suppressed) {
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

    private static DeviceTensor track(List<DeviceTensor> made, DeviceTensor tensor) {
        made.add(tensor);
        return tensor;
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
