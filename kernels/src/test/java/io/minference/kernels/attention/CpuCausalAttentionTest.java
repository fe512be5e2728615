package io.minference.kernels.attention;

import static io.minference.kernels.cpu.RandomTensors.assertClose;
import static io.minference.kernels.cpu.RandomTensors.tensor;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CpuCausalAttentionTest {
    private static CpuBackend backend;
    private final SplittableRandom random = new SplittableRandom(System.nanoTime());

    @BeforeAll
    static void start() {
        backend = new CpuBackend(3);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    @Test
    void groupedQueryBlocksMatchFloat64Reference() {
        int[][] shapes = {{4, 2, 16}, {6, 2, 8}, {4, 4, 5}, {8, 1, 24}, {2, 2, 64}};
        int[][] blocks = {{0, 1}, {0, 7}, {3, 1}, {5, 9}, {40, 3}};
        for (int[] s : shapes) {
            AttentionShape shape = new AttentionShape(s[0], s[1], s[2]);
            for (int[] b : blocks) check(shape, b[0], b[1]);
        }
    }

    @Test
    void decodeOverSeveralChunksOfPositionsMatchesFloat64Reference() {
        // prefixes longer than one chunk of the decode passes, a partial chunk last, one query and a few; head dims
        // that the value pass takes in pairs of vectors, a pair and a single one, or a vector and scalars
        int chunk = CpuCausalAttention.CHUNK;
        int[][] shapes = {{4, 2, 16}, {2, 2, 64}, {8, 1, 24}, {4, 2, 48}};
        int[][] blocks = {{chunk - 1, 1}, {chunk, 1}, {3 * chunk + 17, 1}, {2 * chunk - 2, 5}};
        for (int[] s : shapes) {
            AttentionShape shape = new AttentionShape(s[0], s[1], s[2]);
            for (int[] b : blocks) check(shape, b[0], b[1]);
        }
    }

    @Test
    void prefillBlocksTakingTheMatrixProductPathMatchFloat64Reference() {
        int[][] shapes = {{4, 1, 64}, {6, 2, 5}, {8, 8, 16}};
        int[][] blocks = {{0, CpuCausalAttention.BLOCK_QUERIES}, {17, 33}, {100, 40}};
        for (int[] s : shapes) {
            AttentionShape shape = new AttentionShape(s[0], s[1], s[2]);
            for (int[] b : blocks) check(shape, b[0], b[1]);
        }
    }

    @Test
    void blockAndQueryByQueryPathsAgree() {
        AttentionShape shape = new AttentionShape(8, 2, 32);
        int start = 70, count = 24;
        try (Tensor q = tensor(random, 2, count, shape.queryDim()); Tensor k = tensor(random, 2, start + count, shape.kvDim());
             Tensor v = tensor(random, 1, start + count, shape.kvDim());
             Tensor block = Tensor.allocate(DType.F32, count, shape.queryDim());
             Tensor single = Tensor.allocate(DType.F32, count, shape.queryDim())) {
            var attention = new CpuCausalAttention(backend);
            attention.attend(0, shape, q, k, v, block, start, count);
            // the same queries one at a time: each is a block of one at its own position
            for (int t = 0; t < count; t++) {
                try (Tensor qt = Tensor.wrap(DType.F32, q.data().asSlice(4L * t * shape.queryDim()), 1, shape.queryDim());
                     Tensor ot = Tensor.wrap(DType.F32, single.data().asSlice(4L * t * shape.queryDim()), 1, shape.queryDim())) {
                    attention.attend(0, shape, qt, k, v, ot, start + t, 1);
                }
            }
            for (int i = 0; i < count * shape.queryDim(); i++) {
                assertClose(single.getFloat(i), block.getFloat(i), 1e-5, "at " + i);
            }
        }
    }

    @Test
    void rejectsCacheShorterThanTheBlock() {
        AttentionShape shape = new AttentionShape(4, 2, 8);
        try (Tensor q = Tensor.allocate(DType.F32, 4, 32); Tensor k = Tensor.allocate(DType.F32, 5, 16);
             Tensor v = Tensor.allocate(DType.F32, 5, 16); Tensor out = Tensor.allocate(DType.F32, 4, 32)) {
            var attention = new CpuCausalAttention(backend);
            assertThrows(IllegalArgumentException.class, () -> attention.attend(0, shape, q, k, v, out, 2, 4));
            assertThrows(IllegalArgumentException.class, () -> attention.attend(0, shape, q, k, v, q, 0, 4));
            assertThrows(IllegalArgumentException.class, () -> attention.attend(0, shape, q, k, v, out, 0, 0));
        }
    }

    private void check(AttentionShape shape, int start, int count) {
        int capacity = start + count + 2;
        try (Tensor q = tensor(random, 2, count, shape.queryDim()); Tensor k = tensor(random, 2, capacity, shape.kvDim());
             Tensor v = tensor(random, 1, capacity, shape.kvDim()); Tensor out = Tensor.allocate(DType.F32, count, shape.queryDim())) {
            new CpuCausalAttention(backend).attend(3, shape, q, k, v, out, start, count);
            double[] expected = reference(shape, q.toFloatArray(), k.toFloatArray(), v.toFloatArray(), start, count);
            for (int i = 0; i < expected.length; i++) {
                assertClose(expected[i], out.getFloat(i), 1e-5, shape + " start " + start + " count " + count + " at " + i);
            }
        }
    }

    /** Straightforward attention in double: every query head scores its own KV head's prefix. */
    static double[] reference(AttentionShape shape, float[] q, float[] k, float[] v, int start, int count) {
        int d = shape.headDim();
        double[] out = new double[count * shape.queryDim()];
        for (int t = 0; t < count; t++) {
            int length = start + t + 1;
            for (int h = 0; h < shape.numHeads(); h++) {
                int kvHead = h / shape.groupSize();
                double[] scores = new double[length];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < length; j++) {
                    double dot = 0;
                    for (int i = 0; i < d; i++) dot += (double) q[t * shape.queryDim() + h * d + i] * k[j * shape.kvDim() + kvHead * d + i];
                    scores[j] = dot / Math.sqrt(d);
                    max = Math.max(max, scores[j]);
                }
                double sum = 0;
                for (int j = 0; j < length; j++) sum += scores[j] = Math.exp(scores[j] - max);
                for (int j = 0; j < length; j++) {
                    for (int i = 0; i < d; i++) out[t * shape.queryDim() + h * d + i] += scores[j] / sum * v[j * shape.kvDim() + kvHead * d + i];
                }
            }
        }
        return out;
    }
}
