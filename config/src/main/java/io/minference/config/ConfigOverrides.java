package io.minference.config;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Values given on the command line, each null when its flag was not given. They win over the configuration file.
 * A command starts from {@link #NONE} and adds the flags it has, so that no caller spells out the flags it lacks:
 * {@code ConfigOverrides.NONE.withModel(model, tokenizer).withDevice(device)}. (The prefill's block size has no flag:
 * it comes from the file's {@code block_size} alone.)
 *
 * @param sampling  --max-tokens, --temperature, --top-p, --seed and --chat
 * @param attention --attention, --patterns, --sparse-threshold and --budget
 */
public record ConfigOverrides(String model, Path tokenizer, String device, Sampling sampling, Attention attention,
                              KvCacheType kvCache, KvOffload kvOffload) {
    /** The generation flags, each null when not given. */
    public record Sampling(Integer maxTokens, Double temperature, Double topP, Long seed, Boolean chat) {
        static final Sampling NONE = new Sampling(null, null, null, null, null);
    }

    /** The attention flags, each null when not given. */
    public record Attention(AttentionMode mode, Path patterns, Integer sparseThreshold, Double massBudget) {
        static final Attention NONE = new Attention(null, null, null, null);
    }

    public static final ConfigOverrides NONE = new ConfigOverrides(null, null, null, Sampling.NONE, Attention.NONE,
            null, null);

    public ConfigOverrides {
        Objects.requireNonNull(sampling, "sampling (Sampling.NONE when no generation flag was given)");
        Objects.requireNonNull(attention, "attention (Attention.NONE when no attention flag was given)");
    }

    /** These overrides with --model's and --tokenizer's values. */
    public ConfigOverrides withModel(String model, Path tokenizer) {
        return new ConfigOverrides(model, tokenizer, device, sampling, attention, kvCache, kvOffload);
    }

    /** These overrides with --device's value. */
    public ConfigOverrides withDevice(String device) {
        return new ConfigOverrides(model, tokenizer, device, sampling, attention, kvCache, kvOffload);
    }

    /** These overrides with the generation flags' values. */
    public ConfigOverrides withSampling(Integer maxTokens, Double temperature, Double topP, Long seed, Boolean chat) {
        return new ConfigOverrides(model, tokenizer, device, new Sampling(maxTokens, temperature, topP, seed, chat),
                attention, kvCache, kvOffload);
    }

    /** These overrides with the attention flags' values. */
    public ConfigOverrides withAttention(AttentionMode mode, Path patterns, Integer sparseThreshold,
                                         Double massBudget) {
        return new ConfigOverrides(model, tokenizer, device, sampling,
                new Attention(mode, patterns, sparseThreshold, massBudget), kvCache, kvOffload);
    }

    /** These overrides with --kv-cache's value (null: the file's or the default). */
    public ConfigOverrides withKvCache(KvCacheType type) {
        return new ConfigOverrides(model, tokenizer, device, sampling, attention, type, kvOffload);
    }

    /** These overrides with --kv-offload's value (null: the file's or the default). */
    public ConfigOverrides withKvOffload(KvOffload offload) {
        return new ConfigOverrides(model, tokenizer, device, sampling, attention, kvCache, offload);
    }

    /**
     * The configuration with these overrides applied.
     *
     * @throws IllegalArgumentException for an override out of its range (the command line checks them first, so that
     *                                  its message can name the flag)
     */
    public MinferenceConfig applyTo(MinferenceConfig config) {
        GenerationConfig g = config.generation();
        GenerationConfig generation = new GenerationConfig(or(sampling.maxTokens(), g.maxTokens()),
                or(sampling.temperature(), g.temperature()), or(sampling.topP(), g.topP()),
                or(sampling.seed(), g.seed()), or(sampling.chat(), g.chat()));
        return new MinferenceConfig(
                or(model, config.model()),
                or(tokenizer, config.tokenizer()),
                or(device, config.device()),
                generation,
                config.prefill(),
                attentionOver(config.attention()),
                or(kvCache, config.kvCache()),
                or(kvOffload, config.kvOffload()));
    }

    /** A pattern file given alone means minference: the file is only read in that mode. */
    private AttentionConfig attentionOver(AttentionConfig a) {
        AttentionMode mode = or(attention.mode(), a.mode());
        if (attention.mode() == null && attention.patterns() != null && mode == AttentionMode.DENSE) {
            mode = AttentionMode.MINFERENCE;
        }
        return new AttentionConfig(mode, or(attention.patterns(), a.patterns()),
                or(attention.sparseThreshold(), a.sparseThreshold()), or(attention.massBudget(), a.massBudget()));
    }

    private static <T> T or(T override, T value) {
        return override != null ? override : value;
    }
}
