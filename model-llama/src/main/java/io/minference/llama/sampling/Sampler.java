package io.minference.llama.sampling;

import io.minference.llama.generate.SamplingOptions;

/** Picks a token id from a vector of logits. */
public interface Sampler {
    /** @param logits one score per vocabulary entry; left unchanged */
    int sample(float[] logits);

    /** Greedy for temperature 0, otherwise random with the options' temperature, top-p and seed. */
    static Sampler of(SamplingOptions options) {
        return options.temperature() == 0f
                ? new GreedySampler()
                : new RandomSampler(options.temperature(), options.topP(), options.seed());
    }
}
