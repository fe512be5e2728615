package io.minference.config;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Everything a configuration file can set; command-line flags override it.
 *
 * @param model     a model file or synthetic:NAME, or null when the file does not name one
 * @param tokenizer a tokenizer file overriding the model's own, or null
 * @param device    auto, cpu, cuda or cuda:N
 */
public record MinferenceConfig(String model, Path tokenizer, String device, GenerationConfig generation,
                               PrefillConfig prefill) {
    public static final MinferenceConfig DEFAULTS =
            new MinferenceConfig(null, null, "auto", GenerationConfig.DEFAULTS, PrefillConfig.DEFAULTS);

    public MinferenceConfig {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(generation, "generation");
        Objects.requireNonNull(prefill, "prefill");
        Limits.device(device).ifPresent(p -> {
            throw new IllegalArgumentException("device " + p);
        });
    }

    /** Reads and validates a YAML file; see docs/configuration.md. */
    public static MinferenceConfig load(Path file) {
        return ConfigLoader.load(file);
    }
}
