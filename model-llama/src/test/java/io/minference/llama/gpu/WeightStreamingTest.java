package io.minference.llama.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.llama.forward.RandomLlama;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

        @Override
        public Tensor matrix(String name, long rows, long cols, WeightStreaming.Fill fill) {
            Tensor t = Tensor.allocate(DType.BF16, rows, cols);
            t.data().fill((byte) 0x7F); // poison: a byte left unwritten shows
            long[] next = {0};
            fill.into((offset, chunk) -> {
                assertEquals(next[0], offset, name + ": chunks out of order");
                MemorySegment.copy(chunk, 0, t.data(), offset, chunk.byteSize());
                next[0] += chunk.byteSize();
                chunkBytes.add(chunk.byteSize());
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

    private static void assertSameBytes(Tensor expected, Tensor actual) {
        try (expected) {
            assertEquals(expected.byteSize(), actual.byteSize());
            assertEquals(-1, expected.data().asSlice(0, expected.byteSize())
                    .mismatch(actual.data().asSlice(0, actual.byteSize())), "streamed bytes differ");
        }
    }
}
