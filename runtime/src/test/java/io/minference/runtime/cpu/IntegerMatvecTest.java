package io.minference.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The integer decode product against two references on random blocks (seeds printed, outputs poisoned with NaN):
 * <ul>
 *   <li>the float64 product of the decoded weights with x as this test quantizes it (its own scalar code), which the
 *       integer sums must match to within the float rounding of one scaled sum per block;</li>
 *   <li>the float64 product with x itself, which they must match to within x's quantization error: each element of x
 *       moves by at most half its block's scale d, so row r may move by Σ_blocks d/2 · Σ|w|, plus the rounding.</li>
 * </ul>
 */
class IntegerMatvecTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Test
    void quantizedActivationsAreWithinHalfAScaleAndUseTheFullRange() {
        long seed = System.nanoTime();
        System.out.println("quantizedActivationsAreWithinHalfAScaleAndUseTheFullRange seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        int k = 256;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate(4L * k), q = arena.allocate(IntegerMatvec.quantizedBytes(k));
            for (int i = 0; i < k; i++) x.set(F32, 4L * i, i < 32 ? 0f : (float) random.nextDouble(-3, 3));
            IntegerMatvec.quantize(x, k, q);
            assertEquals(0f, q.get(F32, k), 0f, "an all-zero block has scale 0");
            for (int b = 0; b < k / 32; b++) {
                float d = q.get(F32, k + 4L * b);
                int maxQuant = 0;
                for (int j = 0; j < 32; j++) {
                    int e = 32 * b + j;
                    byte quant = q.get(ValueLayout.JAVA_BYTE, e);
                    maxQuant = Math.max(maxQuant, Math.abs(quant));
                    assertTrue(Math.abs(x.get(F32, 4L * e) - d * quant) <= d / 2 * (1 + 1e-6),
                            "element " + e + ": " + x.get(F32, 4L * e) + " vs " + d + " × " + quant);
                }
                assertEquals(b == 0 ? 0 : 127, maxQuant, "block " + b + "'s largest quant");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void integerProductsMatchTheReferencesWithinTheirBounds(DType type) {
        long seed = System.nanoTime();
        System.out.println("integerProductsMatchTheReferencesWithinTheirBounds " + type + " seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        int[][] shapes = {{5, 32}, {37, 256}, {64, 2048}};
        for (int[] shape : shapes) check(random, type, shape[0], shape[1], null);
        // through the decode product on the pool: x quantized once, rows split between the threads
        try (CpuBackend backend = new CpuBackend(2)) {
            check(random, type, 300, 1024, backend);
        }
    }

    /** With {@code backend} null, one call of the row loop on this thread; otherwise the pooled decode product. */
    private static void check(SplittableRandom random, DType type, int n, int k, CpuBackend backend) {
        try (Tensor x = BlockMatmulTest.randomFloats(random, 1, k); Tensor w = BlockMatmulTest.randomBlocks(random, type, n, k);
             Tensor decoded = BlockMatmulTest.decodeReference(w); Arena arena = Arena.ofShared()) {
            MemorySegment q = arena.allocate(IntegerMatvec.quantizedBytes(k));
            MemorySegment out = arena.allocate(4L * n);
            for (int r = 0; r < n; r++) out.set(F32, 4L * r, Float.NaN);
            if (backend != null) {
                CpuMatvec.multiplyBlocks(backend, true, x.data(), type, w.data(), type.byteSize(k), out, n, k, true);
            } else {
                IntegerMatvec.quantize(x.data(), k, q);
                IntegerMatvec.rows(type, q, w.data(), type.byteSize(k), out, 0, n, k);
            }
            float[] xs = x.toFloatArray(), ws = decoded.toFloatArray();
            double[] xq = new double[k], scale = new double[k / 32];
            referenceQuantization(xs, xq, scale);
            for (int r = 0; r < n; r++) {
                double quantized = 0, exact = 0, magnitude = 0, quantizationBound = 0;
                for (int b = 0; b < k / 32; b++) {
                    double blockMagnitude = 0;
                    for (int j = 32 * b; j < 32 * b + 32; j++) {
                        double wj = ws[r * k + j];
                        quantized += xq[j] * wj;
                        exact += xs[j] * wj;
                        magnitude += Math.abs(xq[j] * wj) + Math.abs(xs[j] * wj);
                        blockMagnitude += Math.abs(wj);
                    }
                    quantizationBound += scale[b] / 2 * blockMagnitude;
                }
                double rounding = 1e-6 * magnitude * Math.sqrt(k) + 1e-30;
                float got = out.get(F32, 4L * r);
                String where = type + " " + n + "×" + k + " row " + r;
                assertEquals(quantized, got, rounding, where + ": differs from the product with x quantized");
                assertEquals(exact, got, quantizationBound + rounding, where + ": beyond x's quantization bound");
            }
        }
    }

    /** x quantized as the product does (scale max/127, nearest quant, halves to even), dequantized in float64. */
    private static void referenceQuantization(float[] x, double[] xq, double[] scale) {
        for (int b = 0; b < scale.length; b++) {
            double max = 0;
            for (int j = 32 * b; j < 32 * b + 32; j++) max = Math.max(max, Math.abs(x[j]));
            float d = (float) max / 127;
            scale[b] = d;
            for (int j = 32 * b; j < 32 * b + 32; j++) xq[j] = d == 0 ? 0 : d * Math.rint(x[j] * (1 / d));
        }
    }
}
