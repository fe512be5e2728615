package io.minference.llama.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The Q8_0 quantizer, read back through the reader's dequantizer, against float64 bounds and llama.cpp's rounding. */
class Q8_0QuantizerTest {
    private static final int BLOCK = 32;

    private static byte[] quantize(float[] x) {
        return QuantizerRoundTrip.quantize(GgmlType.Q8_0, x);
    }

    private static float[] dequantize(byte[] blocks) {
        return QuantizerRoundTrip.dequantize(GgmlType.Q8_0, blocks);
    }

    @Test
    void valuesComeBackWithinHalfAStepPlusTheScalesRounding() {
        long seed = System.nanoTime();
        System.out.println("Q8_0 quantizer seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        float[] x = new float[BLOCK * 64];
        for (int b = 0; b < 64; b++) {
            double scale = Math.pow(10, random.nextDouble(-4, 2)); // blocks of very different magnitudes
            for (int i = 0; i < BLOCK; i++) x[b * BLOCK + i] = (float) (scale * random.nextDouble(-1, 1));
        }
        float[] back = dequantize(quantize(x));
        for (int b = 0; b < 64; b++) {
            double absMax = 0;
            for (int i = 0; i < BLOCK; i++) absMax = Math.max(absMax, Math.abs(x[b * BLOCK + i]));
            double d = absMax / 127;
            // half a step, plus 127 times the F16 scale's rounding: relative 2^-11, or half the subnormal spacing
            // 2^-24 for scales below F16's smallest normal 2^-14 (tiny blocks lose precision), plus float slack
            double bound = d / 2 + 127 * Math.max(d * 0x1p-11, 0x1p-25) + 1e-6 * absMax;
            for (int i = 0; i < BLOCK; i++) {
                double error = Math.abs((double) back[b * BLOCK + i] - x[b * BLOCK + i]);
                assertTrue(error <= bound, "block " + b + " element " + i + ": error " + error + " > " + bound);
            }
        }
    }

    @Test
    void theBlockMaximumTakes127AndHalvesRoundAwayFromZeroAsInLlamaCpp() {
        float[] x = new float[BLOCK];
        x[0] = 127;   // d = 1 exactly
        x[1] = -127;
        x[2] = 2.5f;  // roundf: 3, where Math.round would give 3 too
        x[3] = -2.5f; // roundf: -3, where Math.round would give -2
        x[4] = 0.49f;
        byte[] block = quantize(x);
        assertEquals(Float.floatToFloat16(1f), (short) (block[0] & 0xFF | block[1] << 8));
        assertArrayEquals(new byte[] {127, -127, 3, -3, 0}, Arrays.copyOfRange(block, 2, 7));
        for (int i = 7; i < 34; i++) assertEquals(0, block[i], "element " + (i - 2));
    }

    @Test
    void aBlockOfZerosHasAZeroScaleAndZeroQuants() {
        byte[] blocks = quantize(new float[2 * BLOCK]);
        for (int i = 0; i < blocks.length; i++) assertEquals(0, blocks[i], "byte " + i);
    }

    @Test
    void typesWithoutAQuantizerSayNull() {
        assertNull(Quantizer.forType(GgmlType.Q4_K));
    }
}
