package io.minference.kernels.kvcache;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The 8-bit KV cache's reference codes: rounding, clamping, and a block's values within half a step of their own. */
class KvBlockCodesTest {
    @Test
    void codesAreTheNearestIntegerTiesToEvenClampedTo127() {
        assertEquals(0, KvBlockCodes.encode(0.5f));
        assertEquals(2, KvBlockCodes.encode(1.5f));
        assertEquals(2, KvBlockCodes.encode(2.5f));
        assertEquals(-2, KvBlockCodes.encode(-2.5f));
        assertEquals(3, KvBlockCodes.encode(2.5000002f));
        assertEquals(127, KvBlockCodes.encode(127.4f));
        assertEquals(127, KvBlockCodes.encode(1e30f));
        assertEquals(-127, KvBlockCodes.encode(Float.NEGATIVE_INFINITY));
        assertEquals(0, KvBlockCodes.encode(Float.NaN));
        assertEquals(0, KvBlockCodes.encode(-0.3f));
        for (int c = -127; c <= 127; c++) assertEquals(c, KvBlockCodes.encode(KvBlockCodes.decode((byte) c)));
    }

    @Test
    void aBlockKeepsEachValueWithinHalfAStepOfItsScaledSelf() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        int rows = Fp8E4m3.BLOCK_TOKENS, headDim = 64, stride = 3 * headDim, from = headDim;
        float[] values = new float[rows * stride];
        for (int i = 0; i < values.length; i++) values[i] = (float) (random.nextGaussian() * 3);
        values[from + 5 * stride + 7] = -40f;
        byte[] codes = new byte[values.length];
        float scale = KvBlockCodes.quantizeBlock(values, from, rows, stride, headDim, codes);
        assertEquals(40f / 127f, scale, 0f);
        assertEquals((byte) -127, codes[from + 5 * stride + 7], "the block's amax becomes -127");
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < headDim; i++) {
                int at = from + r * stride + i;
                float x = values[at], back = KvBlockCodes.decode(codes[at]) * scale;
                double bound = scale * 0.50002;
                assertTrue(Math.abs(back - x) <= bound, () -> x + " came back as " + back + ", seed " + seed);
            }
        }
        assertEquals(0, codes[0], "values outside the head's columns are left alone");
        float[] zeros = new float[rows * headDim];
        byte[] zeroCodes = new byte[zeros.length];
        assertEquals(0f, KvBlockCodes.quantizeBlock(zeros, 0, rows, headDim, headDim, zeroCodes));
        for (byte b : zeroCodes) assertEquals(0, b);
    }
}
