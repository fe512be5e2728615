package io.minference.kernels.kvcache;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The e4m3 conversions against the format's definition, by brute force over its 254 finite codes. */
class Fp8E4m3Test {
    /** The value of a code from the definition: subnormal m 2^-9, else (1 + m/8) 2^(e-7). */
    private static double definition(int code) {
        int e = (code >> 3) & 15, m = code & 7;
        double magnitude = e == 0 ? m * 0x1p-9 : (1 + m / 8.0) * Math.pow(2, e - 7);
        return (code & 0x80) != 0 ? -magnitude : magnitude;
    }

    /** The code nearest x by search (ties to the even code), saturating at 448. */
    private static int nearest(float x) {
        double a = Math.min(Math.abs((double) x), 448);
        int best = 0;
        for (int c = 1; c <= 0x7E; c++) {
            double d = Math.abs(definition(c) - a), bestD = Math.abs(definition(best) - a);
            if (d < bestD || (d == bestD && (c & 1) == 0)) best = c;
        }
        return (Float.floatToRawIntBits(x) < 0 ? 0x80 : 0) | best;
    }

    @Test
    void everyFiniteCodeDecodesToItsValueAndEncodesBack() {
        for (int c = 0; c < 256; c++) {
            if ((c & 0x7F) == 0x7F) continue;
            float value = Fp8E4m3.decode((byte) c);
            assertEquals(definition(c), value, 0.0, "code " + c);
            assertEquals(c, Fp8E4m3.encode(value) & 0xFF, "code " + c);
        }
        assertEquals(448f, Fp8E4m3.decode((byte) 0x7E));
        assertEquals(0x1p-9f, Fp8E4m3.decode((byte) 1));
    }

    @Test
    void encodingRoundsToNearestEvenAndSaturates() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        for (int c = 0; c < 0x7E; c++) {
            float midpoint = (float) ((definition(c) + definition(c + 1)) / 2);
            for (float x : new float[] {midpoint, Math.nextUp(midpoint), Math.nextDown(midpoint), -midpoint}) {
                assertEquals(nearest(x), Fp8E4m3.encode(x) & 0xFF, "x = " + x);
            }
        }
        for (int i = 0; i < 200_000; i++) {
            float x = (float) (random.nextGaussian() * Math.pow(2, random.nextInt(24) - 14));
            assertEquals(nearest(x), Fp8E4m3.encode(x) & 0xFF, () -> "x = " + x + ", seed " + seed);
        }
        assertEquals(0x7E, Fp8E4m3.encode(1e30f));
        assertEquals(0x7E, Fp8E4m3.encode(464f));
        assertEquals(0xFE, Fp8E4m3.encode(-449f) & 0xFF);
        assertEquals(0x7E, Fp8E4m3.encode(Float.NaN));
        assertEquals(0x80, Fp8E4m3.encode(-0f) & 0xFF);
        assertEquals(0, Fp8E4m3.encode(0x1p-11f));
        assertEquals(1, Fp8E4m3.encode(0x1p-10f + 0x1p-20f));
    }
}
