package io.minference.llama.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.llama.forward.RandomLlama;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.quant.BlockDecoder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The device upload's streaming, into host tensors instead of device ones: with a staging buffer far smaller than
 * the matrices, every matrix arrives in order, each byte once, equal to the whole-matrix packing.
 */
class WeightStreamingTest {
    /** Collects the streamed tensors on the host, checking that chunks arrive in order and cover each matrix. */
    static final class HostSink implements WeightStreaming.Sink<Tensor> {
        final Map<String, Tensor> tensors = new LinkedHashMap<>();
        final List<Long> chunkBytes = new ArrayList<>();
        final List<Long> rawChunkBytes = new ArrayList<>();

        @Override
        public Tensor matrix(String name, long rows, long cols, WeightStreaming.Fill fill) {
            Tensor t = Tensor.allocate(DType.BF16, rows, cols);
            t.data().fill((byte) 0x7F); // poison: a byte left unwritten shows
            long[] next = {0};
            WeightStreaming.Writer bytes = (offset, chunk) -> {
                assertEquals(next[0], offset, name + ": chunks out of order");
                MemorySegment.copy(chunk, 0, t.data(), offset, chunk.byteSize());
                next[0] += chunk.byteSize();
                chunkBytes.add(chunk.byteSize());
            };
            fill.into(bytes, (firstRow, count, width, type, blocks) -> {
                rawChunkBytes.add(blocks.byteSize());
                WeightStreaming.expandOnHost(cols, bytes).write(firstRow, count, width, type, blocks);
            });
            assertEquals(t.byteSize(), next[0], name + ": not every byte was written");
            tensors.put(name, t);
            return t;
        }

        @Override
        public Tensor vector(String name, Tensor values) {
            Tensor copy = Tensor.allocate(values.dtype(), values.shape());
            MemorySegment.copy(values.data(), 0, copy.data(), 0, values.byteSize());
            tensors.put(name, copy);
            return copy;
        }
    }

    @Test
    void matricesArriveInSmallChunksEqualToTheWholePacking() {
        LlamaConfig config = RandomLlama.smallConfig(64);
        HostSink sink = new HostSink();
        try (LlamaWeights weights = RandomLlama.weights(config, 21, false, true)) {
            // 300 bytes: two rows of 64 bf16 per chunk
            WeightStreaming.Model<Tensor> model = WeightStreaming.stream(config, weights, sink, 300);
            assertTrue(sink.chunkBytes.stream().allMatch(b -> b <= 300), "chunks bounded by the staging");
            assertEquals(2 + 4 * config.numLayers() + 2 + 2 * config.numLayers(), sink.tensors.size());
            int hidden = GpuLlamaWeights.paddedHidden(config);
            int qDim = config.numHeads() * config.headDim();
            assertSameBytes(Bf16Packing.padded(weights.tokenEmbedding(), config.dim()), model.embedding());
            assertSameBytes(Bf16Packing.padded(weights.classifier(), config.dim()), model.classifier());
            for (int l = 0; l < config.numLayers(); l++) {
                var w = weights.layers().get(l);
                var streamed = model.layers().get(l);
                assertSameBytes(Bf16Packing.stack(qDim + 2L * config.kvDim(), config.dim(),
                        new long[] {0, qDim, qDim + config.kvDim()}, w.wq(), w.wk(), w.wv()), streamed.wqkv());
                assertSameBytes(Bf16Packing.stack(2L * hidden, config.dim(), new long[] {0, hidden}, w.wGate(),
                        w.wUp()), streamed.wGateUp());
                assertSameBytes(Bf16Packing.padded(w.wDown(), hidden), streamed.wDown());
                assertSameBytes(Bf16Packing.padded(w.wo(), qDim), streamed.wo());
                assertEquals(-1, w.attentionNorm().data().mismatch(streamed.attentionNorm().data()));
            }
        } finally {
            sink.tensors.values().forEach(Tensor::close);
        }
    }

    @Test
    void aSharedClassifierIsStreamedOnce() {
        LlamaConfig config = RandomLlama.smallConfig(64);
        HostSink sink = new HostSink();
        try (LlamaWeights weights = RandomLlama.weights(config, 22, true, false)) {
            WeightStreaming.Model<Tensor> model = WeightStreaming.stream(config, weights, sink, 1 << 16);
            assertSame(model.embedding(), model.classifier());
        } finally {
            sink.tensors.values().forEach(Tensor::close);
        }
    }

    /**
     * A model whose matrices are of every block type the device expands, with F16 and F32 ones, and a hidden size
     * that the kernels pad (zero rows between gate and up, padded columns in the F16 down projection): raw rows arrive
     * in chunks bounded by the staging, and every matrix equals the row-by-row F32 reference decode rounded to bf16.
     */
    @Test
    void blockTypesArriveRawAndExpandToTheReference() {
        long seed = System.nanoTime();
        System.out.println("quantized streaming seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        LlamaConfig config = MIXED_TYPES;
        int qDim = config.numHeads() * config.headDim();
        int hidden = GpuLlamaWeights.paddedHidden(config);
        HostSink sink = new HostSink();
        try (LlamaWeights weights = mixedTypes(random)) {
            LayerWeights layer = weights.layers().getFirst();
            long staging = 4 * 2 * hidden; // four bf16 rows of the widest matrix
            WeightStreaming.Model<Tensor> model = WeightStreaming.stream(config, weights, sink, staging);
            assertTrue(sink.rawChunkBytes.size() > 10, "raw chunks: " + sink.rawChunkBytes.size());
            assertTrue(sink.rawChunkBytes.stream().allMatch(b -> b <= staging), "raw chunks bounded by the staging");
            var streamed = model.layers().getFirst();
            assertEqualsReference(config.vocabSize(), config.dim(), new long[] {0}, model.embedding(),
                    "token_embd " + seed, weights.tokenEmbedding());
            assertEqualsReference(qDim + 2L * config.kvDim(), config.dim(), new long[] {0, qDim, qDim + config.kvDim()},
                    streamed.wqkv(), "attn_qkv " + seed, layer.wq(), layer.wk(), layer.wv());
            assertEqualsReference(config.dim(), qDim, new long[] {0}, streamed.wo(), "attn_output " + seed, layer.wo());
            assertEqualsReference(2L * hidden, config.dim(), new long[] {0, hidden}, streamed.wGateUp(),
                    "ffn_gate_up " + seed, layer.wGate(), layer.wUp());
            assertEqualsReference(config.dim(), hidden, new long[] {0}, streamed.wDown(), "ffn_down " + seed,
                    layer.wDown());
        } finally {
            sink.tensors.values().forEach(Tensor::close);
        }
    }

    /** dim 256 (one K-quant super-block), hidden 508 (padded to 512), vocabulary 40, one layer. */
    static final LlamaConfig MIXED_TYPES = new LlamaConfig(256, 508, 1, 4, 2, 40, 64, 10000f, 1e-5f);

    /**
     * {@link #MIXED_TYPES}' weights, one matrix of each block type the device expands (Q4_K, Q8_0 and Q5_0 stacked in
     * the QKV matrix; Q6_K, Q5_K, Q4_0) beside F16 (the embedding, the down projection, whose columns are padded) and
     * F32 (the classifier).
     */
    static LlamaWeights mixedTypes(SplittableRandom random) {
        LlamaConfig config = MIXED_TYPES;
        int qDim = config.numHeads() * config.headDim();
        LayerWeights layer = new LayerWeights(ones(config.dim()),
                randomBlocks(DType.Q4_K, qDim, config.dim(), random),
                randomBlocks(DType.Q8_0, config.kvDim(), config.dim(), random),
                randomBlocks(DType.Q5_0, config.kvDim(), config.dim(), random),
                randomBlocks(DType.Q6_K, config.dim(), qDim, random),
                ones(config.dim()),
                randomBlocks(DType.Q5_K, config.hiddenDim(), config.dim(), random),
                randomBlocks(DType.F16, config.dim(), config.hiddenDim(), random),
                randomBlocks(DType.Q4_0, config.hiddenDim(), config.dim(), random));
        return new LlamaWeights(randomBlocks(DType.F16, config.vocabSize(), config.dim(), random), List.of(layer),
                ones(config.dim()), randomBlocks(DType.F32, config.vocabSize(), config.dim(), random), null);
    }

    /** Random blocks whose f16 fields are finite: bit 14 of every little-endian 16-bit word cleared (|x| &lt; 2). */
    private static Tensor randomBlocks(DType type, long rows, long cols, SplittableRandom random) {
        Tensor t = Tensor.allocate(type, rows, cols);
        for (long i = 0; i < t.byteSize(); i++) {
            int b = random.nextInt(256);
            t.data().set(ValueLayout.JAVA_BYTE, i, (byte) (i % 2 == 1 ? b & ~0x40 : b));
        }
        return t;
    }

    private static Tensor ones(int dim) {
        float[] v = new float[dim];
        Arrays.fill(v, 1f);
        return Tensor.ofFloats(v, dim);
    }

    /** Each source row decoded to F32 by the reference decoder and rounded to bf16; everything else zero. */
    private static void assertEqualsReference(long rows, long cols, long[] offsets, Tensor actual, String what,
                                              Tensor... parts) {
        short[] expected = new short[Math.toIntExact(rows * cols)];
        for (int p = 0; p < parts.length; p++) {
            Tensor src = parts[p];
            long width = src.dim(1);
            float[] row = new float[Math.toIntExact(width)];
            for (long r = 0; r < src.dim(0); r++) {
                BlockDecoder.forType(src.dtype()).decode(src.data(), r * src.dtype().byteSize(width),
                        MemorySegment.ofArray(row), 0, width / src.dtype().blockSize());
                for (int c = 0; c < width; c++) {
                    expected[Math.toIntExact((offsets[p] + r) * cols + c)] = BFloat16.fromFloat(row[c]);
                }
            }
        }
        assertEquals(2L * expected.length, actual.byteSize(), what);
        assertEquals(-1, MemorySegment.ofArray(expected).mismatch(actual.data().asSlice(0, actual.byteSize())),
                what + ": streamed bytes differ from the reference");
    }

    private static void assertSameBytes(Tensor expected, Tensor actual) {
        try (expected) {
            assertEquals(expected.byteSize(), actual.byteSize());
            assertEquals(-1, expected.data().asSlice(0, expected.byteSize())
                    .mismatch(actual.data().asSlice(0, actual.byteSize())), "streamed bytes differ");
        }
    }
}
