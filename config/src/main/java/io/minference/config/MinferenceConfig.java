package io.minference.config;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Everything a configuration file can set; command-line flags override it.
 *
 * @param model     a model file or synthetic:NAME, or null when the file does not name one
 * @param tokenizer a tokenizer file overriding the model's own, or null
 * @param device    auto, cpu, cuda or cuda:N
 * @param attention dense or sparse prefill, and the sparse path's settings
 * @param kvCache   how the KV cache keeps keys and values for decode
 * @param kvOffload where a GPU keeps the KV cache of the layers it is not computing
 */
public record MinferenceConfig(String model, Path tokenizer, String device, GenerationConfig generation,
                               PrefillConfig prefill, AttentionConfig attention, KvCacheType kvCache,
                               KvOffload kvOffload) {
    public static final MinferenceConfig DEFAULTS = new MinferenceConfig(null, null, "auto",
            GenerationConfig.DEFAULTS, PrefillConfig.DEFAULTS, AttentionConfig.DEFAULTS, KvCacheType.BF16,
            KvOffload.NONE);

    public MinferenceConfig {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(generation, "generation");
        Objects.requireNonNull(prefill, "prefill");
        Objects.requireNonNull(attention, "attention");
        Objects.requireNonNull(kvCache, "kvCache");
        Objects.requireNonNull(kvOffload, "kvOffload");
        Limits.device(device).ifPresent(p -> {
            throw new IllegalArgumentException("device " + p);
        });
    }

    /** A KV cache kept on the device. */
    public MinferenceConfig(String model, Path tokenizer, String device, GenerationConfig generation,
                            PrefillConfig prefill, AttentionConfig attention, KvCacheType kvCache) {
        this(model, tokenizer, device, generation, prefill, attention, kvCache, KvOffload.NONE);
    }

    /** A bf16 KV cache. */
    public MinferenceConfig(String model, Path tokenizer, String device, GenerationConfig generation,
                            PrefillConfig prefill, AttentionConfig attention) {
        this(model, tokenizer, device, generation, prefill, attention, KvCacheType.BF16);
    }

    /** Dense attention. */
    public MinferenceConfig(String model, Path tokenizer, String device, GenerationConfig generation,
                            PrefillConfig prefill) {
        this(model, tokenizer, device, generation, prefill, AttentionConfig.DEFAULTS);
    }

    /** Reads and validates a YAML file; see docs/configuration.md. */
    public static MinferenceConfig load(Path file) {
        return ConfigLoader.load(file);
    }
}
