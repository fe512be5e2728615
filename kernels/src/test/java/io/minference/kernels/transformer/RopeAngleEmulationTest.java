package io.minference.kernels.transformer;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The angle arithmetic of {@link RopeKvWrite}, repeated here in Java floats step for step (FMA for FMA), against the
 * double angle of the CPU twin: what the kernel's care buys over a plain f32 angle, measured without a GPU. The
 * device adds sin.approx/cos.approx's own error, about 2^-20.5 (7e-7) on the reduced range, on top of the reduction
 * error measured here.
 */
class RopeAngleEmulationTest {
    private static final float TWO_PI_HI = (float) (2 * Math.PI);
    private static final float TWO_PI_LO = (float) (2 * Math.PI - TWO_PI_HI);
    private static final float INVERSE_TWO_PI = (float) (1 / (2 * Math.PI));

    /** The kernel's reducedAngle, in Java. */
    static float reducedAngle(float p, float hi, float lo) {
        float product = p * hi;
        float error = Math.fma(p, hi, -product);
        float small = Math.fma(p, lo, error);
        return takeTurns(takeTurns(product) + small);
    }

    static float takeTurns(float x) {
        float turns = -(float) Math.rint(x * INVERSE_TWO_PI);
        return Math.fma(turns, TWO_PI_LO, Math.fma(turns, TWO_PI_HI, x));
    }

    @Test
    void sinesAndCosinesStayWithin1e6OfTheDoubleAngleUpTo2To24() {
        int headDim = 128;
        float theta = 500000f;
        float[] factors = RopeFrequencies.llama31Factors(headDim, theta, 8, 1, 4, 8192);
        float[] table = RopeFrequencies.table(headDim, theta, factors);
        SplittableRandom random = new SplittableRandom(42);
        double careful = 0, plain = 0;
        double plainAtMillion = 0;
        for (int sample = 0; sample < 4000; sample++) {
            int position = sample < 64 ? sample : random.nextInt(1 << 24);
            for (int i = 0; i < headDim / 2; i++) {
                double exact = position * (Math.pow(theta, -2.0 * i / headDim) / factors[i]);
                float r = reducedAngle(position, table[2 * i], table[2 * i + 1]);
                assertTrue(Math.abs(r) <= 3.1416f, "reduced angle " + r + " at position " + position);
                careful = Math.max(careful, Math.max(Math.abs(Math.sin(r) - Math.sin(exact)),
                        Math.abs(Math.cos(r) - Math.cos(exact))));
                float naive = position * table[2 * i];
                double naiveError = Math.abs((float) Math.sin(naive) - Math.sin(exact));
                plain = Math.max(plain, naiveError);
                if (position <= 1_000_000) plainAtMillion = Math.max(plainAtMillion, naiveError);
            }
        }
        System.out.printf("RoPE sin/cos error vs double angle, positions < 2^24: careful f32 %.2e, plain f32 angle"
                + " %.2e (%.2e up to position 10^6)%n", careful, plain, plainAtMillion);
        assertTrue(careful < 1e-6, "careful reduction error " + careful);
        assertTrue(plain > 1e-2, "the plain f32 angle should be visibly worse, got " + plain);
    }
}
