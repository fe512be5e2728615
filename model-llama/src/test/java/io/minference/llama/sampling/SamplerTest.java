package io.minference.llama.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.minference.llama.generate.SamplingOptions;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final float[] THREE = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2)};

    @Test
    void greedyTakesTheLargestAndTheLowestIdOnTies() {
        assertEquals(2, new GreedySampler().sample(new float[] {1, 2, 3, -1}));
        assertEquals(1, new GreedySampler().sample(new float[] {0, 5, 2, 5, 5}));
        assertInstanceOf(GreedySampler.class, Sampler.of(SamplingOptions.GREEDY));
        assertThrows(IllegalArgumentException.class, () -> new GreedySampler().sample(new float[0]));
    }

    @Test
    void temperatureOneFollowsTheSoftmax() {
        double[] frequencies = frequencies(new RandomSampler(1f, 1f, 1), THREE, 40_000);
        assertEquals(0.5, frequencies[0], 0.015);
        assertEquals(0.3, frequencies[1], 0.015);
        assertEquals(0.2, frequencies[2], 0.015);
    }

    @Test
    void temperatureSharpensAndFlattens() {
        // p ∝ p0^(1/T): at T = 0.5, 0.25 : 0.09 : 0.04 of 0.38
        double[] sharp = frequencies(new RandomSampler(0.5f, 1f, 2), THREE, 40_000);
        assertEquals(0.25 / 0.38, sharp[0], 0.015);
        assertEquals(0.04 / 0.38, sharp[2], 0.015);
        double[] flat = frequencies(new RandomSampler(100f, 1f, 3), THREE, 40_000);
        assertEquals(1 / 3.0, flat[2], 0.02);
    }

    @Test
    void topPKeepsOnlyTheNucleus() {
        // 0.5 alone does not exceed 0.6, so the nucleus is {0, 1}, renormalized to 0.625 : 0.375
        double[] nucleus = frequencies(new RandomSampler(1f, 0.6f, 4), THREE, 40_000);
        assertEquals(0.625, nucleus[0], 0.015);
        assertEquals(0.375, nucleus[1], 0.015);
        assertEquals(0, nucleus[2]);
        double[] top = frequencies(new RandomSampler(1f, 0.4f, 5), THREE, 1000);
        assertEquals(1.0, top[0]);
    }

    @Test
    void topPBreaksTiesByLowestId() {
        float[] tied = {0, 0, 0, 0};
        double[] f = frequencies(new RandomSampler(1f, 0.3f, 6), tied, 1000);
        assertArrayEquals(new double[] {0.5, 0.5, 0, 0}, new double[] {Math.round(f[0] * 10) / 10.0,
                Math.round(f[1] * 10) / 10.0, f[2], f[3]});
    }

    @Test
    void sameSeedSameTokens() {
        float[] logits = new float[50];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) Math.sin(i);
        int[] a = draw(Sampler.of(new SamplingOptions(0.8f, 0.9f, 42)), logits, 200);
        int[] b = draw(Sampler.of(new SamplingOptions(0.8f, 0.9f, 42)), logits, 200);
        int[] c = draw(Sampler.of(new SamplingOptions(0.8f, 0.9f, 43)), logits, 200);
        assertArrayEquals(a, b);
        assertFalse(Arrays.equals(a, c));
    }

    @Test
    void leavesTheLogitsUnchangedAndRejectsBadSettings() {
        float[] logits = THREE.clone();
        new RandomSampler(0.7f, 0.5f, 1).sample(logits);
        assertArrayEquals(THREE, logits);
        assertThrows(IllegalArgumentException.class, () -> new RandomSampler(0f, 1f, 1));
        assertThrows(IllegalArgumentException.class, () -> new RandomSampler(1f, 0f, 1));
    }

    private static int[] draw(Sampler sampler, float[] logits, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = sampler.sample(logits);
        return out;
    }

    private static double[] frequencies(Sampler sampler, float[] logits, int n) {
        double[] f = new double[logits.length];
        for (int i = 0; i < n; i++) f[sampler.sample(logits)]++;
        for (int i = 0; i < f.length; i++) f[i] /= n;
        return f;
    }
}
