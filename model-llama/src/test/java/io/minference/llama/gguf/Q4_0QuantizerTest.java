package io.minference.llama.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The Q4_0 quantizer, read back through the reference decoder, against float64 bounds and llama.cpp's layout. */
class Q4_0QuantizerTest {
    private static final int BLOCK = 32;

    private static byte[] quantize(float[] x) {
        return QuantizerRoundTrip.quantize(GgmlType.Q4_0, x);
    }

    private static float[] dequantize(byte[] blocks) {
        return QuantizerRoundTrip.dequantize(GgmlType.Q4_0, blocks);
    }

    @Test
    void valuesComeBackWithinHalfAStepPlusTheScalesRounding() {
        long seed = System.nanoTime();
        System.out.println("Q4_0 quantizer seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        float[] x = new float[BLOCK * 64];
        for (int b = 0; b < 64; b++) {
            double scale = Math.pow(10, random.nextDouble(-3, 2));
            for (int i = 0; i < BLOCK; i++) x[b * BLOCK + i] = (float) (scale * random.nextDouble(-1, 1));
        }
        float[] back = dequantize(quantize(x));
        for (int b = 0; b < 64; b++) {
            double absMax = 0;
            for (int i = 0; i < BLOCK; i++) absMax = Math.max(absMax, Math.abs(x[b * BLOCK + i]));
            double d = absMax / 8;
            // the far end of the range (+7 steps where the maximum took −8) clamps: up to a whole step there
            double bound = d + 8 * Math.max(d * 0x1p-11, 0x1p-25) + 1e-6 * absMax;
            for (int i = 0; i < BLOCK; i++) {
                double error = Math.abs((double) back[b * BLOCK + i] - x[b * BLOCK + i]);
                assertTrue(error <= bound, "block " + b + " element " + i + ": error " + error + " > " + bound);
            }
        }
    }

    @Test
    void theLargestMagnitudeTakesTheLowEndAndNibblesSplitTheBlockInHalves() {
        float[] x = new float[BLOCK];
        x[0] = -16;  // d = −16 / −8 = 2: −16 / 2 + 8.5 = 0.5 → q 0
        x[16] = 14;  // 7 + 8.5 → q 15
        x[1] = 2;    // 1 + 8.5 → q 9
        x[17] = -14; // −7 + 8.5 → q 1
        x[2] = 15;   // 7.5 + 8.5 = 16 → clamped to 15
        byte[] block = quantize(x);
        assertEquals(Float.floatToFloat16(2f), (short) (block[0] & 0xFF | block[1] << 8));
        assertEquals(0 | 15 << 4, block[2] & 0xFF);
        assertEquals(9 | 1 << 4, block[3] & 0xFF);
        assertEquals(15 | 8 << 4, block[4] & 0xFF);
        for (int j = 3; j < 16; j++) assertEquals(8 | 8 << 4, block[2 + j] & 0xFF, "byte " + j);
        float[] back = dequantize(block);
        assertEquals(-16f, back[0]);
        assertEquals(14f, back[16]);
        assertEquals(14f, back[2], "the clamped element is a step short");
    }
}
