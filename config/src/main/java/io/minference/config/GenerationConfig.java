package io.minference.config;

/**
 * How tokens are generated.
 *
 * @param maxTokens   generated tokens at most, the prompt excluded
 * @param temperature 0 for greedy decoding
 * @param topP        nucleus mass in (0, 1]; 1 disables it
 * @param seed        seed of the sampler
 * @param chat        wrap the prompt in the model's chat template
 */
public record GenerationConfig(int maxTokens, double temperature, double topP, long seed, boolean chat) {
    public static final GenerationConfig DEFAULTS = new GenerationConfig(256, 0, 1, 0, false);

    public GenerationConfig {
        Limits.maxTokens(maxTokens).ifPresent(p -> invalid("max_tokens", p));
        Limits.temperature(temperature).ifPresent(p -> invalid("temperature", p));
        Limits.topP(topP).ifPresent(p -> invalid("top_p", p));
    }

    private static void invalid(String key, String problem) {
        throw new IllegalArgumentException(key + " " + problem);
    }
}
