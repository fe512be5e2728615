package io.minference.kernels.transformer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The exact sampling definition of {@link CpuTopPSample} on cases computed by hand and against float64 softmax. */
class CpuTopPSampleTest {
    @Test
    void equalLogitsSplitTheUnitIntervalEvenly() {
        float[] logits = {0.25f, 0.25f, 0.25f, 0.25f};
        // every weight is 2^36, W = 2^38, the target floor(u 2^38) picks floor(4u)
        assertEquals(0, CpuTopPSample.sample(logits, 0, 4, 1f, 1f, 0.0));
        assertEquals(1, CpuTopPSample.sample(logits, 0, 4, 1f, 1f, 0.3));
        assertEquals(1, CpuTopPSample.sample(logits, 0, 4, 1f, 1f, 0.4999));
        assertEquals(2, CpuTopPSample.sample(logits, 0, 4, 1f, 1f, 0.5));
        assertEquals(3, CpuTopPSample.sample(logits, 0, 4, 1f, 1f, 0.99));
    }

    @Test
    void followsTheSoftmaxAtEveryTemperature() {
        SplittableRandom random = new SplittableRandom(11);
        float[] logits = new float[50];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) (2 * random.nextGaussian());
        for (float temperature : new float[] {0.5f, 1f, 2f}) {
            double[] expected = softmax(logits, temperature);
            double[] frequency = new double[logits.length];
            int draws = 200_000;
            for (int d = 0; d < draws; d++) {
                frequency[CpuTopPSample.sample(logits, 0, logits.length, temperature, 1f, (d + 0.5) / draws)] += 1.0 / draws;
            }
            for (int i = 0; i < logits.length; i++) {
                assertEquals(expected[i], frequency[i], 2e-5,
                        "token " + i + " at temperature " + temperature);
            }
        }
    }

    @Test
    void topPKeepsTheShortestPrefixThatExceedsIt() {
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2)};
        int[] counts = new int[3];
        for (int d = 0; d < 10_000; d++) counts[CpuTopPSample.sample(logits, 0, 3, 1f, 0.6f, (d + 0.5) / 10_000)]++;
        assertEquals(0, counts[2], "0.5 + 0.3 exceeds 0.6: the third token is out");
        assertEquals(0.625, counts[0] / 10_000.0, 1e-3);
        for (int d = 0; d < 100; d++) assertEquals(0, CpuTopPSample.sample(logits, 0, 3, 1f, 0.4f, d / 100.0));
    }

    @Test
    void equalProbabilitiesRankByLowestId() {
        float[] logits = {1, 3, 3, 0};
        // tokens 1 and 2 hold about 0.47 each: at top-p 0.3 the nucleus is token 1 alone
        for (int d = 0; d < 100; d++) assertEquals(1, CpuTopPSample.sample(logits, 0, 4, 1f, 0.3f, d / 100.0));
        // at 0.9 it is tokens 1 and 2, in that order: low u gives 1, high u gives 2
        assertEquals(1, CpuTopPSample.sample(logits, 0, 4, 1f, 0.9f, 0.1));
        assertEquals(2, CpuTopPSample.sample(logits, 0, 4, 1f, 0.9f, 0.9));
    }

    @Test
    void nanAndInfiniteLogitsAreNeverDrawnAndAllNanGivesMinusOne() {
        float[] logits = {Float.NaN, 1f, Float.NaN, 2f, Float.NEGATIVE_INFINITY};
        for (int d = 0; d < 1000; d++) {
            int token = CpuTopPSample.sample(logits, 0, logits.length, 1f, 1f, d / 1000.0);
            assertTrue(token == 1 || token == 3, "token " + token);
        }
        assertEquals(-1, CpuTopPSample.sample(new float[] {Float.NaN, Float.NaN}, 0, 2, 1f, 1f, 0.5));
        // an offset row
        assertEquals(3, CpuTopPSample.sample(new float[] {9, 9, 9, 0, 0, 0, 50}, 3, 4, 1f, 1f, 0.99));
    }

    @Test
    void theFixedPointProductsAreExact() {
        SplittableRandom random = new SplittableRandom(5);
        for (int i = 0; i < 10_000; i++) {
            long total = random.nextLong(1L << 54);
            int p = random.nextInt(1, 1 << 24 + 1);
            long u = random.nextLong(1L << 32);
            BigInteger t = BigInteger.valueOf(total);
            assertEquals(t.multiply(BigInteger.valueOf(p)).shiftRight(24).longValueExact(),
                    CpuTopPSample.nucleusLimit(total, p));
            assertEquals(t.multiply(BigInteger.valueOf(u)).shiftRight(32).longValueExact(),
                    CpuTopPSample.scaleByFraction(total, u));
        }
    }

    @Test
    void weightsAreIntegersUpTo2To36AtTheTop() {
        assertEquals(1L << 36, CpuTopPSample.weight(CpuTopPSample.key(3f, 3f)));
        assertEquals(1L << 35, CpuTopPSample.weight(CpuTopPSample.key(2f - 0.6931472f, 2f)), 2);
        assertEquals(0, CpuTopPSample.key(-30f, 0f), "below 2^-36 of the top: weight 0");
        assertTrue(CpuTopPSample.weight(CpuTopPSample.key(-24.9f, 0f)) >= 1);
    }

    @Test
    void refusesBadSettings() {
        float[] logits = {1, 2};
        assertThrows(IllegalArgumentException.class, () -> CpuTopPSample.sample(logits, 0, 2, 0f, 1f, 0.5));
        assertThrows(IllegalArgumentException.class, () -> CpuTopPSample.sample(logits, 0, 2, 1f, 0f, 0.5));
        assertThrows(IllegalArgumentException.class, () -> CpuTopPSample.sample(logits, 0, 2, 1f, 1.5f, 0.5));
        assertThrows(IllegalArgumentException.class, () -> CpuTopPSample.sample(logits, 0, 2, 1f, 1f, 1.0));
        assertThrows(IllegalArgumentException.class,
                () -> CpuTopPSample.sample(new float[CpuTopPSample.MAX_VOCAB + 1], 0, CpuTopPSample.MAX_VOCAB + 1, 1f, 1f, 0.5));
    }

    private static double[] softmax(float[] logits, float temperature) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (float l : logits) max = Math.max(max, l / (double) temperature);
        double[] p = new double[logits.length];
        for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp(logits[i] / (double) temperature - max);
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }
}
