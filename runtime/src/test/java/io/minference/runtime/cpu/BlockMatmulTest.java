package io.minference.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.quant.BlockDecoder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * Products on weights kept in their blocks, against the F32 reference: the scalar {@link BlockDecoder} turns the same
 * random blocks into an F32 matrix, and the F32 product of that matrix is the expected result. The block product is
 * built to run the F32 tiles on decoded rows, so the two agree exactly (except the decode product of the types that
 * dequantize inside the dot product, {@link FusedMatvec}); each row is also held to a float64 bound.
 * Outputs start poisoned (NaN) so that a row left unwritten fails.
 */
class BlockMatmulTest {
    private static final String TYPES = "F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K";
    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(3);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16", "Q8_0", "Q4_0", "Q5_0", "Q4_K", "Q5_K", "Q6_K"})
    void vectorDecodingEqualsTheReferenceDecoder(DType type) {
        long seed = System.nanoTime();
        System.out.println("vectorDecodingEqualsTheReferenceDecoder " + type + " seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        int k = 4 * 256;
        int rows = 3;
        try (Tensor w = randomBlocks(random, type, rows, k)) {
            float[] expected = decodeReference(w).toFloatArray();
            float[] actual = new float[rows * k];
            // the whole rows, then a K block that starts inside them
            BlockRows.decode(type, w.data(), 0, type.byteSize(k), rows, 0, k, MemorySegment.ofArray(actual), k);
            for (int i = 0; i < expected.length; i++) assertEquals(expected[i], actual[i], 0f, type + " element " + i);
            float[] block = new float[rows * 256];
            BlockRows.decode(type, w.data(), 0, type.byteSize(k), rows, 512, 768, MemorySegment.ofArray(block), 256);
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < 256; i++) {
                    assertEquals(expected[r * k + 512 + i], block[r * 256 + i], 0f, type + " row " + r + " column " + i);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16", "Q8_0", "Q4_0", "Q5_0", "Q4_K", "Q5_K", "Q6_K"})
    void productsEqualTheF32ProductOfTheDecodedWeights(DType type) {
        long seed = System.nanoTime();
        System.out.println("productsEqualTheF32ProductOfTheDecodedWeights " + type + " seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        int unit = Math.max(256, type.blockSize());
        // decode (one token) on the calling thread and on the pool (203 rows: items whose rows are not a multiple of
        // the fused loops' four); prefill across panels, row tiles and K blocks
        int[][] shapes = {{1, 5, unit}, {1, 67, 3 * unit}, {1, 300, 4 * unit}, {1, 203, 2 * unit}, {3, 7, unit},
                {17, 13, 2 * unit}, {40, 101, 3 * unit}};
        for (int[] shape : shapes) check(random, type, shape[0], shape[1], shape[2]);
        if (type.blockSize() == 32) check(random, type, 5, 9, 96);
        if (type.blockSize() == 1) check(random, type, 6, 11, 37);
    }

    @Test
    void integerTypesAreRefused() {
        try (Tensor x = Tensor.allocate(DType.F32, 1, 4); Tensor w = Tensor.allocate(DType.I8, 2, 4);
             Tensor out = Tensor.allocate(DType.F32, 1, 2)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> backend.matmul(x, w, out, 1));
            assertTrue(e.getMessage().contains("I8"), e.getMessage());
        }
    }

    @Test
    void aBlockTensorMustHoldWholeBlocksPerRow() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.wrap(DType.Q8_0, MemorySegment.ofArray(new byte[1000]), 2, 48));
        assertTrue(e.getMessage().contains("whole blocks"), e.getMessage());
    }

    private static void check(SplittableRandom random, DType type, int tokens, int n, int k) {
        try (Tensor x = randomFloats(random, tokens, k); Tensor w = randomBlocks(random, type, n, k);
             Tensor reference = decodeReference(w); Tensor expected = poisoned(tokens, n);
             Tensor actual = poisoned(tokens, n)) {
            backend.matmul(x, reference, expected, tokens);
            backend.matmul(x, w, actual, tokens);
            float[] xs = x.toFloatArray(), ws = reference.toFloatArray();
            // a decode product large enough for the vector loops dequantizes the common types inside its dot product, in
            // another order than the F32 path: it is held to the bound only
            boolean fusedDecode = tokens == 1 && (long) n * k >= CpuMatmul.SINGLE_THREAD_WORK
                    && FusedMatvec.handles(type);
            for (int t = 0; t < tokens; t++) {
                for (int j = 0; j < n; j++) {
                    double exact = 0, magnitude = 0;
                    for (int i = 0; i < k; i++) {
                        exact += (double) xs[t * k + i] * ws[j * k + i];
                        magnitude += Math.abs((double) xs[t * k + i] * ws[j * k + i]);
                    }
                    String where = type + " " + tokens + "×" + n + "×" + k + " token " + t + " row " + j;
                    float got = actual.getFloat((long) t * n + j);
                    if (!fusedDecode) {
                        assertEquals(expected.getFloat((long) t * n + j), got, 0f, where + ": differs from the F32 path");
                    }
                    assertEquals(exact, got, 1e-6 * magnitude * Math.sqrt(k) + 1e-30, where + ": beyond the bound");
                }
            }
        }
    }

    private static Tensor poisoned(int tokens, int n) {
        Tensor t = Tensor.allocate(DType.F32, tokens, n);
        for (long i = 0; i < (long) tokens * n; i++) t.setFloat(i, Float.NaN);
        return t;
    }

    static Tensor randomFloats(SplittableRandom random, int rows, int cols) {
        Tensor t = Tensor.allocate(DType.F32, rows, cols);
        for (long i = 0; i < (long) rows * cols; i++) t.setFloat(i, (float) random.nextDouble(-1, 1));
        return t;
    }

    /** The F32 matrix the reference decoder makes of {@code w}. */
    static Tensor decodeReference(Tensor w) {
        Tensor f = Tensor.allocate(DType.F32, w.shape());
        BlockDecoder.forType(w.dtype()).decode(w.data(), 0, f.data(), 0, w.elementCount() / w.dtype().blockSize());
        return f;
    }

    /**
     * Random blocks: random bytes for quants, sub-block scales and fifth bits, and small random F16 scales (random
     * bits there would make infinities and NaNs, which model files do not hold).
     */
    static Tensor randomBlocks(SplittableRandom random, DType type, int rows, int cols) {
        Tensor t = Tensor.allocate(type, rows, cols);
        MemorySegment m = t.data();
        long blocks = (long) rows * cols / type.blockSize();
        for (long i = 0; i < m.byteSize(); i++) m.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt(256));
        for (long b = 0; b < blocks; b++) {
            long at = b * type.blockBytes();
            switch (type) {
                case F16 -> half(m, at, random.nextDouble(-2, 2));
                case BF16 -> m.set(BlockDecoder.LE_SHORT, at,
                        (short) (Float.floatToRawIntBits((float) random.nextDouble(-2, 2)) >>> 16));
                case Q8_0, Q4_0, Q5_0 -> half(m, at, random.nextDouble(-0.05, 0.05));
                case Q4_K, Q5_K -> {
                    half(m, at, random.nextDouble(0, 0.01));
                    half(m, at + 2, random.nextDouble(0, 0.01));
                }
                case Q6_K -> half(m, at + 208, random.nextDouble(-0.002, 0.002));
                default -> throw new IllegalArgumentException(type + " is not one of " + TYPES);
            }
        }
        return t;
    }

    private static void half(MemorySegment m, long at, double value) {
        m.set(BlockDecoder.LE_SHORT, at, Float.floatToFloat16((float) value));
    }
}
