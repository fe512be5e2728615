package io.minference.config;

import java.nio.file.Path;

/**
 * Values given on the command line, each null when its flag was not given. They win over the configuration file.
 */
public record ConfigOverrides(String model, Path tokenizer, String device, Integer maxTokens, Double temperature,
                              Double topP, Long seed, Boolean chat, Integer blockSize, AttentionMode attention,
                              Path patterns, Integer sparseThreshold, Double massBudget, KvCacheType kvCache,
                              KvOffload kvOffload) {
    public static final ConfigOverrides NONE = new ConfigOverrides(null, null, null, null, null, null, null, null, null);

    /** No attention overrides. */
    public ConfigOverrides(String model, Path tokenizer, String device, Integer maxTokens, Double temperature,
                           Double topP, Long seed, Boolean chat, Integer blockSize) {
        this(model, tokenizer, device, maxTokens, temperature, topP, seed, chat, blockSize, null, null, null, null);
    }

    /** No KV cache override. */
    public ConfigOverrides(String model, Path tokenizer, String device, Integer maxTokens, Double temperature,
                           Double topP, Long seed, Boolean chat, Integer blockSize, AttentionMode attention,
                           Path patterns, Integer sparseThreshold, Double massBudget) {
        this(model, tokenizer, device, maxTokens, temperature, topP, seed, chat, blockSize, attention, patterns,
                sparseThreshold, massBudget, null, null);
    }

    /** These overrides with --kv-cache's value (null: the file's or the default). */
    public ConfigOverrides withKvCache(KvCacheType type) {
        return new ConfigOverrides(model, tokenizer, device, maxTokens, temperature, topP, seed, chat, blockSize,
                attention, patterns, sparseThreshold, massBudget, type, kvOffload);
    }

    /** These overrides with --kv-offload's value (null: the file's or the default). */
    public ConfigOverrides withKvOffload(KvOffload offload) {
        return new ConfigOverrides(model, tokenizer, device, maxTokens, temperature, topP, seed, chat, blockSize,
                attention, patterns, sparseThreshold, massBudget, kvCache, offload);
    }

    /** These overrides with the attention flags' values. */
    public ConfigOverrides withAttention(AttentionMode attention, Path patterns, Integer sparseThreshold,
                                         Double massBudget) {
        return new ConfigOverrides(model, tokenizer, device, maxTokens, temperature, topP, seed, chat, blockSize,
                attention, patterns, sparseThreshold, massBudget, kvCache, kvOffload);
    }

    /**
     * The configuration with these overrides applied.
     *
     * @throws IllegalArgumentException for an override out of its range (the command line checks them first, so that
     *                                  its message can name the flag)
     */
    public MinferenceConfig applyTo(MinferenceConfig config) {
        GenerationConfig g = config.generation();
        return new MinferenceConfig(
                or(model, config.model()),
                or(tokenizer, config.tokenizer()),
                or(device, config.device()),
                new GenerationConfig(or(maxTokens, g.maxTokens()), or(temperature, g.temperature()),
                        or(topP, g.topP()), or(seed, g.seed()), or(chat, g.chat())),
                new PrefillConfig(or(blockSize, config.prefill().blockSize())),
                attention(config.attention()),
                or(kvCache, config.kvCache()),
                or(kvOffload, config.kvOffload()));
    }

    /** A pattern file given alone means minference: the file is only read in that mode. */
    private AttentionConfig attention(AttentionConfig a) {
        AttentionMode mode = or(attention, a.mode());
        if (attention == null && patterns != null && mode == AttentionMode.DENSE) mode = AttentionMode.MINFERENCE;
        return new AttentionConfig(mode, or(patterns, a.patterns()), or(sparseThreshold, a.sparseThreshold()),
                or(massBudget, a.massBudget()));
    }

    private static <T> T or(T override, T value) {
        return override != null ? override : value;
    }
}
