package io.minference.llama.sampling;

import io.minference.kernels.cpu.Softmax;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Samples from softmax(logits / temperature), optionally restricted to the nucleus: the most likely tokens whose
 * probabilities first add up to more than topP. The same seed gives the same sequence of choices.
 */
public final class RandomSampler implements Sampler {
    private final float temperature;
    private final float topP;
    private final SplittableRandom random;

    public RandomSampler(float temperature, float topP, long seed) {
        if (!(temperature > 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("random sampling needs a finite temperature > 0, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        this.temperature = temperature;
        this.topP = topP;
        this.random = new SplittableRandom(seed);
    }

    @Override
    public int sample(float[] logits) {
        if (logits.length == 0) throw new IllegalArgumentException("no logits to sample from");
        float[] p = new float[logits.length];
        for (int i = 0; i < p.length; i++) p[i] = logits[i] / temperature;
        Softmax.inPlace(p);
        double u = random.nextDouble();
        return topP < 1 && p.length > 1 ? sampleNucleus(p, u) : sampleAll(p, u);
    }

    private static int sampleAll(float[] p, double u) {
        double cumulative = 0;
        for (int i = 0; i < p.length; i++) {
            cumulative += p[i];
            if (u < cumulative) return i;
        }
        return lastNonZero(p);
    }

    private int sampleNucleus(float[] p, double u) {
        // A token less likely than (1 - topP) / (n - 1) cannot be needed to exceed topP, since all such tokens
        // together hold less than 1 - topP; dropping them first keeps the sort short.
        double cutoff = (1.0 - topP) / (p.length - 1);
        long[] candidates = new long[p.length];
        int n = 0;
        for (int i = 0; i < p.length; i++) {
            // Probabilities are non-negative, so their bit patterns sort like their values; the inverted id
            // in the low half makes equal probabilities come lowest id first when read from the end.
            if (p[i] >= cutoff) candidates[n++] = (long) Float.floatToRawIntBits(p[i]) << 32 | (~i & 0xFFFFFFFFL);
        }
        Arrays.sort(candidates, 0, n);
        double mass = 0;
        int kept = 0;
        for (int c = n - 1; c >= 0; c--) {
            mass += Float.intBitsToFloat((int) (candidates[c] >>> 32));
            kept++;
            if (mass > topP) break;
        }
        double target = u * mass;
        double cumulative = 0;
        for (int c = n - 1; c >= n - kept; c--) {
            cumulative += Float.intBitsToFloat((int) (candidates[c] >>> 32));
            if (target < cumulative) return ~(int) candidates[c];
        }
        return ~(int) candidates[n - kept];
    }

    private static int lastNonZero(float[] p) {
        for (int i = p.length - 1; i >= 0; i--) if (p[i] > 0) return i;
        return 0;
    }
}
