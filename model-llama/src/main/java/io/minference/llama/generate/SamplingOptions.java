package io.minference.llama.generate;

/**
 * How the next token is chosen.
 *
 * @param temperature 0 for greedy
 * @param topP        nucleus mass in (0, 1]; 1 disables it
 * @param seed        seed of the sampler's random generator
 */
public record SamplingOptions(float temperature, float topP, long seed) {
    public static final SamplingOptions GREEDY = new SamplingOptions(0f, 1f, 0L);

    public SamplingOptions {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
    }
}
