package io.minference.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import java.util.SplittableRandom;
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
             Tensor out = Tensor.allocate(DType.F32, 4, 3); Tensor half = Tensor.allocate(DType.F16, 3, 8)) {
            var e = assertThrows(IllegalArgumentException.class, () -> backend.matmul(x, w, out, 4));
            assertTrue(e.getMessage().contains("x of shape [>=4, 7]"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> backend.matmul(x, half, out, 4));
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
