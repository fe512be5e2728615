package io.minference.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.x86.AmxSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The AMX prefill product (Q8_0 weights read in place; Q4_0, Q5_0 and the K-quants widened to int8 blocks) against
 * the float64 product of the same weights decoded by the reference decoder, on random blocks (seeds printed, outputs
 * poisoned with NaN). The tokens are quantized per block of 32, so each element of token t's block b moves by at most
 * d[t, b] / 2 (d = max|x| / 127); output (t, r) may then move by Σ_b d[t, b] / 2 · Σ_{k in b} |w[r, k]|, plus float
 * rounding (a relative 1e-5 of Σ|w·x|), and no more.
 *
 * <p>Skipped where the kernels cannot run (no AMX, or Linux refuses the tile state), with the reason; the CI
 * machines have AMX.
 */
class AmxMatmulTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Test
    void tilesMatchTheFloat64ProductWithinTheQuantizationBound() {
        assumeTrue(AmxSupport.available(), AmxSupport.unavailableBecause());
        long seed = System.nanoTime();
        System.out.println("tilesMatchTheFloat64ProductWithinTheQuantizationBound seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        // one tile; a partial panel; several panels and row groups on the pool, K of a down projection
        int[][] shapes = {{16, 16, 32}, {37, 48, 256}, {70, 96, 2048}, {33, 32, 8192}};
        try (CpuBackend backend = new CpuBackend(2)) {
            for (DType type : new DType[] {DType.Q8_0, DType.Q4_0, DType.Q5_0, DType.Q4_K, DType.Q5_K, DType.Q6_K}) {
                for (int[] shape : shapes) {
                    if (shape[2] % type.blockSize() == 0) check(backend, random, type, shape[0], shape[1], shape[2]);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_0", "Q5_0", "Q4_K", "Q5_K", "Q6_K"})
    void widenedBlocksGiveTheReferenceDecodersFloats(DType type) {
        long seed = System.nanoTime();
        System.out.println("widenedBlocksGiveTheReferenceDecodersFloats " + type + " seed " + seed);
        int k = 512, blocks = k / 32;
        try (Tensor w = BlockMatmulTest.randomBlocks(new SplittableRandom(seed), type, 16, k);
             Arena arena = Arena.ofConfined()) {
            MemorySegment widened = arena.allocate(16L * blocks * 34);
            float[] table = new float[32 * blocks];
            switch (type) {
                case Q4_0, Q5_0 -> AmxMatmul.widenLegacy(type, w.data(), 0, type.byteSize(k), blocks, widened, table);
                case Q6_K -> AmxMatmul.widenQ6_K(w.data(), 0, type.byteSize(k), blocks, widened, table);
                default -> AmxMatmul.widenKQuants(type, w.data(), 0, type.byteSize(k), blocks, widened, table);
            }
            float[] expected = BlockMatmulTest.decodeReference(w).toFloatArray();
            for (int r = 0; r < 16; r++) {
                for (int b = 0; b < blocks; b++) {
                    for (int j = 0; j < 32; j++) {
                        byte q = widened.get(ValueLayout.JAVA_BYTE, (long) (r * blocks + b) * 34 + 2 + j);
                        // Q6_K: a scale per half, no offsets; the others: one scale, then the offset
                        float value = type == DType.Q6_K ? table[32 * b + 16 * (j / 16) + r] * q
                                : table[32 * b + r] * q + table[32 * b + 16 + r];
                        assertEquals(expected[r * k + 32 * b + j], value, 0f,
                                type + " row " + r + " block " + b + " element " + j);
                    }
                }
            }
        }
    }

    @Test
    void theBackendsQ8ProductsRunOnTheTilesWhereTheyCan() {
        assumeTrue(AmxSupport.available(), AmxSupport.unavailableBecause());
        MemorySegment w = Arena.global().allocate(1);
        try (CpuBackend amx = new CpuBackend(2); CpuBackend vectorApi = new CpuBackend(2, false)) {
            assertTrue(AmxMatmul.handles(amx, DType.Q8_0, w, 2, 16, 32));
            assertTrue(!AmxMatmul.handles(vectorApi, DType.Q8_0, w, 2, 16, 32), "a backend told not to");
            assertTrue(!AmxMatvec.handles(vectorApi, DType.Q8_0, w, 16, 32), "a backend told not to");
            assertTrue(!AmxMatmul.handles(amx, DType.Q8_0, w, 1, 16, 32), "decode (one token) stays on the matvec");
            assertTrue(!AmxMatmul.handles(amx, DType.Q8_0, w, 4, 40, 32), "rows not a multiple of 16");
            assertTrue(AmxMatmul.handles(amx, DType.Q4_0, w, 2, 16, 32));
            assertTrue(AmxMatmul.handles(amx, DType.Q4_K, w, 2, 16, 256));
            assertTrue(!AmxMatmul.handles(amx, DType.Q4_K, w, 2, 16, 32), "K not a whole super-block");
            assertTrue(AmxMatmul.handles(amx, DType.Q6_K, w, 4, 16, 256), "by halves");
            assertTrue(AmxMatmul.handles(amx, DType.Q5_0, w, 4, 16, 32));
            assertTrue(!AmxMatmul.handles(amx, DType.F16, w, 4, 16, 32), "not a quantization");
            assertTrue(!AmxMatmul.handles(amx, DType.Q8_0, MemorySegment.ofArray(new byte[34]), 4, 16, 32),
                    "weights on the heap have no address for the kernel");
            assertTrue(amx.describe().contains("AMX int8 kernels"), amx.describe());
            assertTrue(vectorApi.describe().contains("no AMX kernels: turned off for this backend"),
                    vectorApi.describe());
        }
    }

    private static void check(CpuBackend backend, SplittableRandom random, DType type, int tokens, int n, int k) {
        int spare = 3;
        try (Tensor x = BlockMatmulTest.randomFloats(random, tokens, k);
             Tensor w = BlockMatmulTest.randomBlocks(random, type, n, k);
             Tensor decoded = BlockMatmulTest.decodeReference(w);
             Tensor out = Tensor.allocate(DType.F32, tokens + spare, n)) {
            for (long i = 0; i < (long) (tokens + spare) * n; i++) out.setFloat(i, Float.NaN);
            backend.matmul(x, w, out, tokens);
            assertWithinQuantizationBound(x, decoded, out, tokens, n, k);
            for (long i = (long) tokens * n; i < (long) (tokens + spare) * n; i++) {
                assertTrue(Float.isNaN(out.getFloat(i)), "output past the last token was written at " + i);
            }
        }
    }

    /**
     * Each output (t, r) against the float64 product of x with the decoded weights, within the tokens' quantization
     * bound (see the class comment).
     */
    static void assertWithinQuantizationBound(Tensor x, Tensor decoded, Tensor out, int tokens, int n, int k) {
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < n; r++) {
                double exact = 0, magnitude = 0, bound = 0;
                for (int b = 0; b < k / 32; b++) {
                    double max = 0, weights = 0;
                    for (int j = 0; j < 32; j++) {
                        int kk = 32 * b + j;
                        double xv = x.getFloat((long) t * k + kk), wv = decoded.getFloat((long) r * k + kk);
                        exact += xv * wv;
                        magnitude += Math.abs(xv * wv);
                        max = Math.max(max, Math.abs(xv));
                        weights += Math.abs(wv);
                    }
                    bound += max / 127 / 2 * weights;
                }
                bound = bound * (1 + 1e-5) + 1e-5 * magnitude;
                float actual = out.getFloat((long) t * n + r);
                assertTrue(Math.abs(actual - exact) <= bound, "tokens " + tokens + ", n " + n + ", k " + k
                        + ": token " + t + " row " + r + ": " + actual + " vs " + exact + ", bound " + bound);
            }
        }
    }
}
