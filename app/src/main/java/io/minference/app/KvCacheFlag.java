package io.minference.app;

import io.minference.config.KvCacheType;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** --kv-cache bf16|fp8|int8, with a message naming the choices for anything else. */
final class KvCacheFlag implements ITypeConverter<KvCacheType> {
    /** What each value keeps, for the commands' help (docs/configuration.md says more). */
    static final String CHOICES = "bf16 (default); int8 (symmetric int8 codes, f32 scales per 64-position block:"
            + " keys per 16 channels, values per KV head; half the bytes, within the 2e-2 decode-logit bound on the"
            + " pass-key model); or fp8 (FP8 e4m3 codes, the same bytes, but 0.03 to 0.06 off, past that bound;"
            + " BENCHMARKS.md, \"8-bit KV codes\")";

    @Override
    public KvCacheType convert(String value) {
        return KvCacheType.byLabel(value).orElseThrow(() -> new TypeConversionException("'" + value
                + "' is not a KV cache type; choose one of " + KvCacheType.labels()));
    }
}
