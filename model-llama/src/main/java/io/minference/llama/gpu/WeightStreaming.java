package io.minference.llama.gpu;

import io.minference.kernels.dequant.CpuDequantizeToBf16;
import io.minference.kernels.transformer.RopeFrequencies;
import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.llama.forward.WeightShapes;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The device weights' layout ({@link GpuLlamaWeights}), produced tensor by tensor from the host weights: matrices
 * packed to bf16 (Q/K/V stacked, gate/up stacked, columns padded) in chunks through one staging buffer of fixed
 * size, norms and the RoPE table as F32. The host weights are read where they lie (a memory-mapped model file, in
 * its own types). Rows are handed on as they lie (blocks of Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K; F16, BF16 or F32
 * elements), for the device to expand to bf16 ({@link io.minference.kernels.dequant.DequantizeToBf16}); only rows
 * whose width that kernel cannot take are converted to bf16 on the host, a row at a time. Either way the host memory that streaming takes is the staging buffer and one
 * decoded row, whatever the model's size. A {@link Sink} receives each tensor: the device upload, or, in a test,
 * anything that needs no device (which expands raw blocks with the kernel's CPU twin, {@link #expandOnHost}).
 */
public final class WeightStreaming {
    /** Staging used by the device upload: large enough that each copy is long, small beside any model. */
    public static final long DEFAULT_STAGING_BYTES = 32L << 20;

    /** Where the streamed tensors go; a sink that allocates releases what it made if streaming fails. */
    public interface Sink<T> {
        /**
         * A bf16 [rows, cols] matrix: allocate it, then call {@code fill.into(bytes, blocks)}, which writes every row
         * of it once, in order of rows, through one or the other.
         */
        T matrix(String name, long rows, long cols, Fill fill);

        /** A small F32 tensor, as it is. */
        T vector(String name, Tensor values);
    }

    /** Produces a matrix's rows. */
    @FunctionalInterface
    public interface Fill {
        void into(Writer bytes, BlockWriter blocks);
    }

    /** Receives {@code chunk} as bytes {@code [byteOffset, byteOffset + chunk.byteSize())} of a bf16 matrix. */
    @FunctionalInterface
    public interface Writer {
        void write(long byteOffset, MemorySegment chunk);
    }

    /**
     * Receives rows {@code [firstRow, firstRow + rows)} of a bf16 matrix as raw blocks of {@code type}: each row's
     * first {@code width} elements, rows back to back in {@code blocks}; the rest of each row is zero. The matrix's
     * width is a multiple of 8, as {@link io.minference.kernels.dequant.DequantizeToBf16} requires. {@code blocks}
     * is the staging buffer, reused once this returns.
     */
    @FunctionalInterface
    public interface BlockWriter {
        void write(long firstRow, long rows, long width, DType type, MemorySegment blocks);
    }

    /**
     * A block writer for a sink without a device: it expands the blocks with the device kernel's CPU twin
     * ({@link CpuDequantizeToBf16}) into zero-padded bf16 rows of a matrix {@code cols} wide and hands them to
     * {@code bytes}; the bf16 rows live only during the call.
     */
    public static BlockWriter expandOnHost(long cols, Writer bytes) {
        return (firstRow, rows, width, type, blocks) -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment expanded = arena.allocate(2 * rows * cols, 16);
                CpuDequantizeToBf16.dequantize(type, blocks, rows, width, expanded, cols);
                bytes.write(2 * firstRow * cols, expanded);
            }
        };
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
        try (Arena arena = Arena.ofConfined()) {
            return stream(config, weights, sink, arena.allocate(Math.max(stagingBytes, minimumStaging(config)), 16));
        }
    }

    /** The least staging that {@link #stream} takes: one F32 row (the widest type) of the widest matrix. */
    public static long minimumStaging(LlamaConfig config) {
        return 4L * Math.max(GpuLlamaWeights.paddedHidden(config), Math.max(config.dim(),
                config.numHeads() * config.headDim()));
    }

    /**
     * Streams every tensor of {@code weights} into {@code sink}, in file order, through {@code staging} (pinned
     * memory, for a device upload), of at least {@link #minimumStaging} bytes.
     */
    public static <T> Model<T> stream(LlamaConfig config, LlamaWeights weights, Sink<T> sink, MemorySegment staging) {
        GpuLlamaWeights.requireKernelShapes(config);
        WeightShapes.check(config, weights);
        int dim = config.dim();
        int hidden = GpuLlamaWeights.paddedHidden(config);
        int qDim = config.numHeads() * config.headDim();
        int kvDim = config.kvDim();
        Packer<T> pack = (name, rows, cols, offsets, blocks) -> sink.matrix(name, rows, cols,
                (bytes, raw) -> Bf16Packing.stream(rows, cols, offsets, blocks, staging, bytes, raw));
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

    private interface Packer<T> {
        T matrix(String name, long rows, long cols, long[] rowOffsets, Tensor... blocks);
    }
}
