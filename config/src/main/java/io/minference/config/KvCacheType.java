package io.minference.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * How the KV cache keeps keys and values for decode (docs/configuration.md, "KV cache"). The prefill itself always
 * attends in full precision; only what decode reads is 8-bit.
 * <ul>
 *   <li>{@link #BF16}: bf16 on the GPU (f32 on the CPU), the default.</li>
 *   <li>{@link #FP8}: FP8 e4m3 codes, an f32 scale per KV head and 64-position block ({@code amax / 448}). Half the
 *       bytes of bf16, but it misses issue 13's decode-logit bound (2e-2 relative per step) on the pass-key model:
 *       e4m3's 3-bit mantissa alone costs about 0.03 whatever the scales (BENCHMARKS.md, "8-bit KV codes: e4m3
 *       against int8, and scale granularity").</li>
 *   <li>{@link #INT8}: symmetric int8 codes ({@code amax / 127}), the same bytes, keys with a scale per 16 channels
 *       of a KV head (int8's evenly spaced levels need the finer range that e4m3's relative rounding does not); it
 *       meets the bound (0.0065 and 0.0050 after 8K and 16K prompts). The accurate 8-bit choice.</li>
 * </ul>
 */
public enum KvCacheType {
    BF16("bf16"),
    FP8("fp8"),
    INT8("int8");

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

    /** The labels, for error messages: "bf16, fp8, int8". */
    public static String labels() {
        return Arrays.stream(values()).map(KvCacheType::label).collect(Collectors.joining(", "));
    }

    /** Whether the cache keeps 8-bit codes (fp8 or int8: the same layout and bytes, only the codes differ). */
    public boolean coded() {
        return this != BF16;
    }
}
