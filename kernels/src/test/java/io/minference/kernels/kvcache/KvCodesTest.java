package io.minference.kernels.kvcache;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A block quantized in each code format: the scale is amax / the format's largest code, the amax element becomes
 * that code, every value comes back within half a step of the format (int8: half the scale; e4m3: 2^-4 relative,
 * or half a subnormal step), values outside the head's columns are left alone, and an all-zero block has scale 0.
 */
class KvCodesTest {
    @ParameterizedTest
    @EnumSource(KvCodes.class)
    void aBlockKeepsEachValueWithinHalfAStepOfItsScaledSelf(KvCodes format) {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        int rows = CodedBlocks.BLOCK_TOKENS, headDim = 64, stride = 3 * headDim, from = headDim;
        float[] values = new float[rows * stride];
        for (int i = 0; i < values.length; i++) values[i] = (float) (random.nextGaussian() * 3);
        values[from + 5 * stride + 7] = -40f;
        byte[] codes = new byte[values.length];
        float scale = format.quantizeBlock(values, from, rows, stride, headDim, codes);
        assertEquals(40f / format.max(), scale, 0f);
        assertEquals(-format.max(), format.decode(codes[from + 5 * stride + 7]), "the block's amax becomes -max");
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < headDim; i++) {
                int at = from + r * stride + i;
                float x = values[at], back = format.decode(codes[at]) * scale;
                double bound = switch (format) {
                    case INT8 -> scale * 0.50002;
                    case E4M3 -> Math.abs(x) / 16 + scale * 0x1p-10;
                };
                assertTrue(Math.abs(back - x) <= bound, () -> format + ": " + x + " came back as " + back + ", seed "
                        + seed);
            }
        }
        assertEquals(0, codes[0], "values outside the head's columns are left alone");
        float[] zeros = new float[rows * headDim];
        byte[] zeroCodes = new byte[zeros.length];
        assertEquals(0f, format.quantizeBlock(zeros, 0, rows, headDim, headDim, zeroCodes));
        for (byte b : zeroCodes) assertEquals(0, b);
    }
}
