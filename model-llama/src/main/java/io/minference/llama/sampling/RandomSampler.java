package io.minference.llama.sampling;

import io.minference.kernels.transformer.CpuTopPSample;
import java.util.SplittableRandom;

/**
 * Samples from softmax(logits / temperature), optionally restricted to the nucleus: the most likely tokens (ties by
 * lowest id) whose probabilities first add up to more than topP. The probabilities are the exact integer weights of
 * {@link CpuTopPSample}, so that the GPU's sampler picks the same token for the same uniform number. The same seed
 * gives the same sequence of choices.
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
        int token = CpuTopPSample.sample(logits, 0, logits.length, temperature, topP, nextUniform());
        if (token < 0) throw new IllegalArgumentException("no finite logits to sample from");
        return token;
    }

    public float temperature() {
        return temperature;
    }

    public float topP() {
        return topP;
    }

    /**
     * The next uniform number in [0, 1) of this sampler's sequence: what {@link #sample} draws, for a device
     * sampler ({@link io.minference.kernels.transformer.TopPSample}) that picks the same token from it.
     */
    public double nextUniform() {
        return random.nextDouble();
    }
}
