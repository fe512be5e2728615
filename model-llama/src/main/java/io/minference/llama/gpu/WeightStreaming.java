package io.minference.llama.gpu;

import io.minference.kernels.transformer.RopeFrequencies;
import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.llama.forward.WeightShapes;
import io.minference.runtime.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The device weights' layout ({@link GpuLlamaWeights}), produced tensor by tensor from the host weights: matrices
 * packed to bf16 (Q/K/V stacked, gate/up stacked, columns padded) in chunks through one staging buffer of fixed
 * size, norms and the RoPE table as F32. The host weights are read where they lie (a memory-mapped model file, in
 * its own types), so the host memory that streaming takes is the staging buffer and one decoded row, whatever the
 * model's size. A {@link Sink} receives each tensor: the device upload, or, in a test, anything that needs no device.
 */
public final class WeightStreaming {
    /** Staging used by the device upload: large enough that each copy is long, small beside any model. */
    public static final long DEFAULT_STAGING_BYTES = 32L << 20;

    /** Where the streamed tensors go; a sink that allocates releases what it made if streaming fails. */
    public interface Sink<T> {
        /**
         * A bf16 [rows, cols] matrix: allocate it, then call {@code fill.fill(writer)}, which writes every byte of
         * it through the writer in order of rows.
         */
        T matrix(String name, long rows, long cols, Fill fill);

        /** A small F32 tensor, as it is. */
        T vector(String name, Tensor values);
    }

    /** Produces a matrix's bytes. */
    @FunctionalInterface
    public interface Fill {
        void into(Writer writer);
    }

    /** Receives {@code chunk} as bytes {@code [byteOffset, byteOffset + chunk.byteSize())} of a matrix. */
    @FunctionalInterface
    public interface Writer {
        void write(long byteOffset, MemorySegment chunk);
    }

    /** One block's tensors, in {@link GpuLayerWeights}'s layout. */
    public record Layer<T>(T attentionNorm, T wqkv, T wo, T ffnNorm, T wGateUp, T wDown) {
    }

    /**
     * The whole model, in {@link GpuLlamaWeights}'s layout.
     *
     * @param classifier the same object as embedding when the model shares them
     */
    public record Model<T>(int paddedHidden, T embedding, T classifier, T outputNorm, T ropeFrequencies,
                           List<Layer<T>> layers) {
    }

    private WeightStreaming() {
    }

    /** Streams every tensor of {@code weights} into {@code sink}, in file order, through a staging buffer. */
    public static <T> Model<T> stream(LlamaConfig config, LlamaWeights weights, Sink<T> sink, long stagingBytes) {
        GpuLlamaWeights.requireKernelShapes(config);
        WeightShapes.check(config, weights);
        int dim = config.dim();
        int hidden = GpuLlamaWeights.paddedHidden(config);
        int qDim = config.numHeads() * config.headDim();
        int kvDim = config.kvDim();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(Math.max(stagingBytes, 2L * Math.max(hidden, Math.max(dim, qDim))),
                    16);
            Packer<T> pack = (name, rows, cols, offsets, blocks) -> sink.matrix(name, rows, cols,
                    writer -> Bf16Packing.stream(rows, cols, offsets, blocks, staging, writer));
            T embedding = pack.matrix("token_embd", config.vocabSize(), dim, new long[] {0},
                    weights.tokenEmbedding());
            T classifier = weights.sharedClassifier() ? embedding
                    : pack.matrix("output", config.vocabSize(), dim, new long[] {0}, weights.classifier());
            T outputNorm = sink.vector("output_norm", weights.outputNorm());
            T rope;
            try (Tensor table = Tensor.ofFloats(RopeFrequencies.table(config.headDim(), config.ropeTheta(),
                    weights.ropeFreqFactors()), config.headDim() / 2, 2)) {
                rope = sink.vector("rope_frequencies", table);
            }
            List<Layer<T>> layers = new ArrayList<>();
            for (int l = 0; l < config.numLayers(); l++) {
                LayerWeights w = weights.layers().get(l);
                String p = "blk." + l + ".";
                layers.add(new Layer<>(
                        sink.vector(p + "attn_norm", w.attentionNorm()),
                        pack.matrix(p + "attn_qkv", qDim + 2L * kvDim, dim, new long[] {0, qDim, qDim + kvDim},
                                w.wq(), w.wk(), w.wv()),
                        pack.matrix(p + "attn_output", dim, qDim, new long[] {0}, w.wo()),
                        sink.vector(p + "ffn_norm", w.ffnNorm()),
                        pack.matrix(p + "ffn_gate_up", 2L * hidden, dim, new long[] {0, hidden}, w.wGate(), w.wUp()),
                        pack.matrix(p + "ffn_down", dim, hidden, new long[] {0}, w.wDown())));
            }
            return new Model<>(hidden, embedding, classifier, outputNorm, rope, List.copyOf(layers));
        }
    }

    private interface Packer<T> {
        T matrix(String name, long rows, long cols, long[] rowOffsets, Tensor... blocks);
    }
}
