package io.minference.sparse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.attention.CpuCausalAttention;
import io.minference.kernels.attention.PromptAttention;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.pattern.BlockRuns;
import io.minference.sparse.pattern.DensePattern;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CpuSparseAttentionTest {
    private static CpuBackend backend;
    private final SplittableRandom random = TestTensors.seededRandom(CpuSparseAttentionTest.class);

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    @Test
    void randomIndicesMatchFloat64Reference() {
        int[][] shapes = {{6, 2, 64}, {4, 4, 16}, {8, 2, 40}, {2, 1, 128}};
        int[] lengths = {1, 63, 64, 65, 200, 300};
        for (int[] s : shapes) {
            AttentionShape shape = new AttentionShape(s[0], s[1], s[2]);
            for (int length : lengths) {
                int firstHead = random.nextInt(shape.numHeads());
                int heads = 1 + random.nextInt(shape.numHeads() - firstHead);
                SparseIndex index = randomIndex(firstHead, heads, length);
                try (Tensor q = TestTensors.random(random, 3, length, shape.queryDim());
                     Tensor k = TestTensors.random(random, 3, length, shape.kvDim());
                     Tensor v = TestTensors.random(random, 1, length, shape.kvDim());
                     Tensor out = TestTensors.poisoned(length, shape.queryDim())) {
                    CpuSparseAttention.attend(shape, q, k, v, out, index);
                    double error = TestTensors.relativeError(shape, q, k, v, out, index);
                    assertTrue(error < 1e-5, shape + " length " + length + ": relative error " + error);
                    for (int i = 0; i < length; i++) {
                        for (int head = 0; head < shape.numHeads(); head++) {
                            boolean inIndex = head >= firstHead && head < firstHead + heads;
                            float x = out.getFloat((long) i * shape.queryDim() + head * shape.headDim());
                            assertEquals(!inIndex, Float.isNaN(x), "head " + head + " row " + i);
                        }
                    }
                }
            }
        }
    }

    @Test
    void denseIndexIsDenseCausalAttention() {
        AttentionShape[] shapes = {new AttentionShape(6, 2, 64), new AttentionShape(4, 1, 32),
                new AttentionShape(2, 2, 24)};
        for (AttentionShape shape : shapes) {
            for (int length : new int[] {1, 63, 64, 65, 200, 1000}) {
                try (Tensor q = TestTensors.random(random, 3, length, shape.queryDim());
                     Tensor k = TestTensors.random(random, 3, length, shape.kvDim());
                     Tensor v = TestTensors.random(random, 1, length, shape.kvDim());
                     Tensor sparse = TestTensors.poisoned(length, shape.queryDim());
                     Tensor dense = TestTensors.poisoned(length, shape.queryDim())) {
                    SparseIndex index = new SparseIndex(0, shape.numHeads(), length, 1, 0);
                    for (int h = 0; h < shape.numHeads(); h++) DensePattern.index().writeTo(index, h);
                    CpuSparseAttention.attend(new LayerInputs(shape, q, k, length), v,
                            sparse, index, backend);
                    PromptAttention.dense(new CpuCausalAttention(backend), 128)
                            .attend(0, shape, q, k, v, dense, length);
                    assertClose(dense, sparse, 2e-5, shape + " length " + length);
                }
            }
        }
    }

    @Test
    void rowWithNoVisibleKeyIsZero() {
        AttentionShape shape = new AttentionShape(1, 1, 8);
        SparseIndex index = new SparseIndex(0, 1, 10, 1, 1);
        index.addColumn(0, 0, 5);
        try (Tensor q = TestTensors.random(random, 1, 10, 8); Tensor k = TestTensors.random(random, 1, 10, 8);
             Tensor v = TestTensors.random(random, 1, 10, 8); Tensor out = TestTensors.poisoned(10, 8)) {
            CpuSparseAttention.attend(shape, q, k, v, out, index);
            for (int i = 0; i < 5; i++) for (int x = 0; x < 8; x++) assertEquals(0f, out.getFloat(i * 8L + x));
            for (int i = 5; i < 10; i++) for (int x = 0; x < 8; x++) assertEquals(v.getFloat(5 * 8L + x), out.getFloat(i * 8L + x), 1e-6);
        }
    }

    @Test
    void refusesMismatchedTensorsAndHeads() {
        AttentionShape shape = new AttentionShape(2, 1, 8);
        try (Tensor q = TestTensors.random(random, 1, 10, 16); Tensor k = TestTensors.random(random, 1, 10, 8);
             Tensor shortV = TestTensors.random(random, 1, 9, 8); Tensor out = TestTensors.poisoned(10, 16)) {
            SparseIndex tooMany = new SparseIndex(1, 2, 10, 1, 0);
            assertThrows(IllegalArgumentException.class,
                    () -> CpuSparseAttention.attend(shape, q, k, shortV, out, new SparseIndex(0, 1, 10, 1, 0)));
            var e = assertThrows(IllegalArgumentException.class,
                    () -> CpuSparseAttention.attend(shape, q, k, k, out, tooMany));
            assertTrue(e.getMessage().contains("exceed"), e.getMessage());
        }
    }

    static void assertClose(Tensor expected, Tensor actual, double tolerance, String what) {
        for (long i = 0; i < expected.elementCount(); i++) {
            float e = expected.getFloat(i), a = actual.getFloat(i);
            assertTrue(Math.abs(e - a) <= tolerance * Math.max(1, Math.abs(e)), what + ": element " + i + " " + a
                    + " vs " + e);
        }
    }

    /** Random ranges (64-aligned and merged in odd blocks, starting anywhere in even ones) and columns outside them. */
    private SparseIndex randomIndex(int firstHead, int heads, int length) {
        int blocks = SparseIndex.queryBlocks(length);
        SparseIndex index = new SparseIndex(firstHead, heads, length, length, 150);
        for (int h = 0; h < heads; h++) {
            for (int b = 0; b < blocks; b++) {
                int end = index.blockEnd(b);
                if (b % 2 == 1) {
                    boolean[] marked = new boolean[b + 1];
                    for (int c = 0; c <= b; c++) marked[c] = random.nextInt(3) == 0;
                    BlockRuns.write(index, h, b, marked);
                } else {
                    for (int start = random.nextInt(100); start < end; ) {
                        int stop = Math.min(end, start + 1 + random.nextInt(150));
                        index.addRange(h, b, start, stop);
                        start = stop + 1 + random.nextInt(100);
                    }
                }
                TreeSet<Integer> columns = new TreeSet<>();
                for (int n = random.nextInt(150); n > 0; n--) {
                    int j = random.nextInt(end);
                    if (!index.insideRange(h, b, j)) columns.add(j);
                }
                for (int j : columns) index.addColumn(h, b, j);
            }
        }
        return index;
    }
}
