package io.minference.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import java.util.SplittableRandom;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CpuMatmulTest {
    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(3);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    @Test
    void oddSizesMatchNaiveProduct() {
        SplittableRandom random = new SplittableRandom(11);
        int[] sizes = {1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 37, 64, 67, 129};
        for (int trial = 0; trial < 60; trial++) {
            int t = sizes[random.nextInt(sizes.length)];
            int n = sizes[random.nextInt(sizes.length)];
            int k = sizes[random.nextInt(sizes.length)];
            check(t, n, k, random);
        }
        check(1, 1, 1, random);
        check(37, 129, 67, random);
        check(37, 67, 129, random);
    }

    @Test
    void singleTokenAndLongKCoverTheDecodePathAndKBlocks() {
        SplittableRandom random = new SplittableRandom(12);
        check(1, 67, 129, random);
        check(1, 300, 1100, random);
        check(6, 45, 1100, random);
        check(128, 40, 1030, random);
    }

    @Test
    void tokenPanelsRowTilesAndKBlocksAllMeetTheirEdges() {
        SplittableRandom random = new SplittableRandom(14);
        int panel = PackedTokens.WIDTH;
        // tokens just under, at and over a panel; rows leaving 0..5 for the one-row tile; K over several blocks
        for (int t : new int[] {2, panel - 1, panel, panel + 1, 2 * panel + 3}) {
            for (int n : new int[] {6, 7, 11, 60, 101}) {
                check(t, n, CpuMatmul.K_BLOCK * 2 + 37, random);
            }
        }
        check(3, 5, CpuMatmul.K_BLOCK, random);
    }

    @Test
    void smallProductsRunOnTheCallingThreadAndLargeOnesOnThePool() {
        SplittableRandom random = new SplittableRandom(15);
        CpuBackend closed = new CpuBackend(2);
        closed.close();
        // 4 × 16 × 32 multiply-adds is far below the hand-off threshold: no pool thread is needed
        try (Tensor x = random(random, 4, 32); Tensor w = random(random, 16, 32); Tensor out = Tensor.allocate(DType.F32, 4, 16)) {
            assertTrue(4L * 16 * 32 < CpuMatmul.SINGLE_THREAD_WORK);
            closed.matmul(x, w, out, 4);
            double[] expected = naive(x.toFloatArray(), w.toFloatArray(), 4, 16, 32);
            for (int i = 0; i < expected.length; i++) assertEquals(expected[i], out.getFloat(i), 1e-4);
        }
        try (Tensor x = random(random, 64, 256); Tensor w = random(random, 64, 256); Tensor out = Tensor.allocate(DType.F32, 64, 64)) {
            assertTrue(64L * 64 * 256 >= CpuMatmul.SINGLE_THREAD_WORK);
            assertThrows(RejectedExecutionException.class, () -> closed.matmul(x, w, out, 64));
        }
    }

    @Test
    void rowsPerItemIsAMultipleOfTheTileAndSharesTheWork() {
        assertEquals(6, CpuMatmul.rowsPerItem(7, 2));
        assertEquals(60, CpuMatmul.rowsPerItem(512, 2));
        assertEquals(96, CpuMatmul.rowsPerItem(8192, 2));
        for (int n = 1; n < 3000; n += 37) assertEquals(0, CpuMatmul.rowsPerItem(n, 2) % MatmulTiles.ROWS);
    }

    @Test
    void aSingleThreadBackendGivesTheSameProduct() {
        SplittableRandom random = new SplittableRandom(16);
        try (CpuBackend one = new CpuBackend(1); Tensor x = random(random, 40, 300); Tensor w = random(random, 77, 300);
             Tensor a = Tensor.allocate(DType.F32, 40, 77); Tensor b = Tensor.allocate(DType.F32, 40, 77)) {
            one.matmul(x, w, a, 40);
            backend.matmul(x, w, b, 40);
            // the same sums in the same order, whichever thread computes a tile
            for (int i = 0; i < 40 * 77; i++) assertEquals(a.getFloat(i), b.getFloat(i), 0f);
        }
    }

    @Test
    void stridedProductsReadAndWriteColumnSlicesInPlace() {
        SplittableRandom random = new SplittableRandom(17);
        for (int t : new int[] {1, 5, 40}) {
            // x: columns [3, 3+k) of rows 50 wide; w: columns [7, 7+k) of rows 90 wide; out: columns [2, 2+n) of 70
            int k = 33, n = 45;
            try (Tensor x = random(random, t, 50); Tensor w = random(random, n, 90); Tensor out = Tensor.allocate(DType.F32, t, 70)) {
                out.setFloat(0, 9f);
                backend.matmul(x.data().asSlice(4 * 3), 50, w.data().asSlice(4 * 7), 90, out.data().asSlice(4 * 2), 70, t, n, k);
                float[] xs = x.toFloatArray(), ws = w.toFloatArray();
                for (int i = 0; i < t; i++) {
                    for (int j = 0; j < n; j++) {
                        double sum = 0;
                        for (int l = 0; l < k; l++) sum += (double) xs[i * 50 + 3 + l] * ws[j * 90 + 7 + l];
                        assertEquals(sum, out.getFloat((long) i * 70 + 2 + j), 1e-4, "t=" + i + " j=" + j);
                    }
                }
                assertEquals(9f, out.getFloat(0), "a column outside the slice is left alone");
                assertEquals(0f, out.getFloat(2 + n), "a column outside the slice is left alone");
            }
        }
    }

    @Test
    void stridedProductsRejectSpansBeyondTheirMemory() {
        try (Tensor x = Tensor.allocate(DType.F32, 4, 8); Tensor w = Tensor.allocate(DType.F32, 3, 8);
             Tensor out = Tensor.allocate(DType.F32, 4, 3)) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> backend.matmul(x.data(), 9, w.data(), 8, out.data(), 3, 4, 3, 8));
            assertTrue(e.getMessage().contains("x needs"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> backend.matmul(x.data(), 4, w.data(), 8, out.data(), 3, 4, 3, 8));
            assertThrows(IllegalArgumentException.class,
                    () -> backend.matmul(x.data(), 8, w.data(), 8, out.data(), 3, 4, 4, 8));
        }
    }

    @Test
    void usesOnlyTheRequestedRowsOfLargerBuffers() {
        SplittableRandom random = new SplittableRandom(13);
        try (Tensor x = random(random, 10, 20); Tensor w = random(random, 9, 20); Tensor out = Tensor.allocate(DType.F32, 10, 9)) {
            out.setFloat(5L * 9, 42f);
            backend.matmul(x, w, out, 5);
            assertEquals(42f, out.getFloat(5L * 9));
            double[] expected = naive(x.toFloatArray(), w.toFloatArray(), 5, 9, 20);
            for (int i = 0; i < expected.length; i++) assertEquals(expected[i], out.getFloat(i), 1e-4 * (1 + Math.abs(expected[i])));
        }
    }

    @Test
    void rejectsMismatchedShapes() {
        try (Tensor x = Tensor.allocate(DType.F32, 4, 8); Tensor w = Tensor.allocate(DType.F32, 3, 7);
             Tensor out = Tensor.allocate(DType.F32, 4, 3); Tensor bytes = Tensor.allocate(DType.I8, 3, 8)) {
            var e = assertThrows(IllegalArgumentException.class, () -> backend.matmul(x, w, out, 4));
            assertTrue(e.getMessage().contains("x of shape [>=4, 7]"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> backend.matmul(x, bytes, out, 4));
            assertThrows(IllegalArgumentException.class, () -> backend.matmul(x, w, out, 0));
        }
    }

    private static void check(int t, int n, int k, SplittableRandom random) {
        try (Tensor x = random(random, t, k); Tensor w = random(random, n, k); Tensor out = Tensor.allocate(DType.F32, t, n)) {
            backend.matmul(x, w, out, t);
            double[] expected = naive(x.toFloatArray(), w.toFloatArray(), t, n, k);
            float[] actual = out.toFloatArray();
            for (int i = 0; i < expected.length; i++) {
                double tolerance = 1e-5 * Math.sqrt(k) * 4 + 1e-6;
                assertEquals(expected[i], actual[i], tolerance, "T=" + t + " N=" + n + " K=" + k + " at " + i);
            }
        }
    }

    private static double[] naive(float[] x, float[] w, int t, int n, int k) {
        double[] out = new double[t * n];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int l = 0; l < k; l++) sum += (double) x[i * k + l] * w[j * k + l];
                out[i * n + j] = sum;
            }
        }
        return out;
    }

    private static Tensor random(SplittableRandom random, int rows, int cols) {
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) values[i] = (float) (random.nextDouble() * 2 - 1);
        return Tensor.ofFloats(values, rows, cols);
    }
}
