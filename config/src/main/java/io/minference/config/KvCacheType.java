package io.minference.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * How the KV cache keeps keys and values for decode (docs/configuration.md, "KV cache"): bf16 (f32 on the CPU), or
 * 8-bit, named fp8 (int8 codes with a scale per KV head and 64-position block; the prefill itself still attends in full
 * precision).
 */
public enum KvCacheType {
    BF16("bf16"),
    FP8("fp8");

    private final String label;

    KvCacheType(String label) {
        this.label = label;
    }

    /** The name on the command line and in configuration files. */
    public String label() {
        return label;
    }

    public static Optional<KvCacheType> byLabel(String label) {
        String wanted = label.strip().toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(t -> t.label.equals(wanted)).findFirst();
    }

    /** The labels, for error messages: "bf16, fp8". */
    public static String labels() {
        return Arrays.stream(values()).map(KvCacheType::label).collect(Collectors.joining(", "));
    }
}
