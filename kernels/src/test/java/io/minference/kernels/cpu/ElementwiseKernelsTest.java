package io.minference.kernels.cpu;

import static io.minference.kernels.cpu.RandomTensors.assertClose;
import static io.minference.kernels.cpu.RandomTensors.tensor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ElementwiseKernelsTest {
    private final SplittableRandom random = new SplittableRandom(System.nanoTime());

    @Test
    void rmsNormMatchesFloat64() {
        for (int dim : new int[] {1, 7, 16, 67, 288}) {
            int rows = 3;
            try (Tensor x = tensor(random, 3, rows + 1, dim); Tensor w = tensor(random, 2, dim);
                 Tensor out = Tensor.allocate(DType.F32, rows + 1, dim)) {
                RmsNorm.apply(x, w, out, rows, 1e-5f);
                for (int r = 0; r < rows; r++) {
                    double ss = 0;
                    for (int i = 0; i < dim; i++) ss += Math.pow(x.getFloat((long) r * dim + i), 2);
                    double scale = 1 / Math.sqrt(ss / dim + 1e-5);
                    for (int i = 0; i < dim; i++) {
                        double expected = x.getFloat((long) r * dim + i) * scale * w.getFloat(i);
                        assertClose(expected, out.getFloat((long) r * dim + i), 1e-5, "dim " + dim + " row " + r);
                    }
                }
                for (int i = 0; i < dim; i++) assertEquals(0f, out.getFloat((long) rows * dim + i), "row past rows untouched");
            }
        }
    }

    @Test
    void rmsNormInPlace() {
        try (Tensor x = tensor(random, 1, 2, 33); Tensor w = tensor(random, 1, 33)) {
            float[] before = x.toFloatArray();
            try (Tensor copy = Tensor.ofFloats(before, 2, 33); Tensor out = Tensor.allocate(DType.F32, 2, 33)) {
                RmsNorm.apply(copy, w, out, 2, 1e-6f);
                RmsNorm.apply(x, w, x, 2, 1e-6f);
                for (int i = 0; i < 66; i++) assertEquals(out.getFloat(i), x.getFloat(i));
            }
        }
    }

    @Test
    void ropeMatchesFloat64PairwiseRotation() {
        int headDim = 16, heads = 3, rows = 5, start = 37;
        float[] factors = RandomTensors.uniform(random, headDim / 2, 1);
        for (int i = 0; i < factors.length; i++) factors[i] = 1 + Math.abs(factors[i]) * 7;
        for (float[] f : new float[][] {null, factors}) {
            try (Tensor x = tensor(random, 1, rows, heads * headDim)) {
                float[] before = x.toFloatArray();
                new Rope(headDim, 500000f, f).apply(x, rows, start);
                for (int r = 0; r < rows; r++) {
                    for (int h = 0; h < heads; h++) {
                        for (int i = 0; i < headDim / 2; i++) {
                            double freq = Math.pow(500000.0, -2.0 * i / headDim) / (f == null ? 1 : f[i]);
                            double angle = (start + r) * freq;
                            int at = r * heads * headDim + h * headDim + 2 * i;
                            double a = before[at], b = before[at + 1];
                            assertClose(a * Math.cos(angle) - b * Math.sin(angle), x.getFloat(at), 1e-6, "even " + at);
                            assertClose(a * Math.sin(angle) + b * Math.cos(angle), x.getFloat(at + 1), 1e-6, "odd " + at);
                        }
                    }
                }
            }
        }
    }

    @Test
    void ropeAtPositionZeroIsIdentityAndRejectsBadShapes() {
        try (Tensor x = tensor(random, 1, 1, 8)) {
            float[] before = x.toFloatArray();
            new Rope(8, 10000f, null).apply(x, 1, 0);
            for (int i = 0; i < 8; i++) assertEquals(before[i], x.getFloat(i));
            assertThrows(IllegalArgumentException.class, () -> new Rope(6, 10000f, null).apply(x, 1, 0));
        }
        assertThrows(IllegalArgumentException.class, () -> new Rope(7, 10000f, null));
        var e = assertThrows(IllegalArgumentException.class, () -> new Rope(8, 10000f, new float[3]));
        assertTrue(e.getMessage().contains("expected 4"), e.getMessage());
    }

    @Test
    void swiGluMatchesFloat64() {
        int rows = 3, width = 45;
        try (Tensor gate = tensor(random, 8, rows, width); Tensor up = tensor(random, 2, rows, width);
             Tensor out = Tensor.allocate(DType.F32, rows, width)) {
            SwiGlu.apply(gate, up, out, rows);
            for (int i = 0; i < rows * width; i++) {
                double g = gate.getFloat(i);
                assertClose(g / (1 + Math.exp(-g)) * up.getFloat(i), out.getFloat(i), 1e-5, "element " + i);
            }
        }
    }

    @Test
    void softmaxMatchesFloat64AndSurvivesLargeValues() {
        for (int n : new int[] {1, 5, 16, 100}) {
            float[] values = RandomTensors.uniform(random, n + 4, 20);
            values[2] = 1e30f;
            float[] before = values.clone();
            Softmax.inPlace(values, 2, n);
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 2; i < n + 2; i++) max = Math.max(max, before[i]);
            double sum = 0;
            for (int i = 2; i < n + 2; i++) sum += Math.exp(before[i] - max);
            for (int i = 2; i < n + 2; i++) assertClose(Math.exp(before[i] - max) / sum, values[i], 1e-6, "n " + n + " at " + i);
            assertEquals(before[0], values[0]);
            assertEquals(before[n + 3], values[n + 3]);
        }
    }

    @Test
    void residualAddMatchesAndLeavesOtherRows() {
        try (Tensor acc = tensor(random, 1, 4, 19); Tensor delta = tensor(random, 1, 4, 19)) {
            float[] a = acc.toFloatArray(), d = delta.toFloatArray();
            ResidualAdd.apply(acc, delta, 3);
            for (int i = 0; i < 3 * 19; i++) assertEquals(a[i] + d[i], acc.getFloat(i));
            for (int i = 3 * 19; i < 4 * 19; i++) assertEquals(a[i], acc.getFloat(i));
        }
    }

    @Test
    void embeddingGatherCopiesRowsAndRejectsUnknownIds() {
        try (Tensor table = tensor(random, 1, 10, 6); Tensor out = Tensor.allocate(DType.F32, 3, 6)) {
            int[] tokens = {4, 9, 0, 9};
            EmbeddingGather.apply(table, tokens, 1, 3, out);
            for (int r = 0; r < 3; r++) {
                for (int i = 0; i < 6; i++) assertEquals(table.getFloat(tokens[r + 1] * 6L + i), out.getFloat(r * 6L + i));
            }
            var e = assertThrows(IllegalArgumentException.class, () -> EmbeddingGather.apply(table, new int[] {10}, 0, 1, out));
            assertTrue(e.getMessage().contains("token id 10"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> EmbeddingGather.apply(table, new int[] {-1}, 0, 1, out));
        }
    }

    @Test
    void kernelsRejectMismatchedRows() {
        try (Tensor x = tensor(random, 1, 2, 8); Tensor w = tensor(random, 1, 7); Tensor y = tensor(random, 2, 9)) {
            assertThrows(IllegalArgumentException.class, () -> RmsNorm.apply(x, w, x, 2, 1e-5f));
            assertThrows(IllegalArgumentException.class, () -> ResidualAdd.apply(x, y, 2));
            assertThrows(IllegalArgumentException.class, () -> SwiGlu.apply(x, x, x, 3));
        }
    }
}
