package io.minference.app;

import io.minference.config.KvCacheType;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** --kv-cache bf16|fp8, with a message naming the choices for anything else. */
final class KvCacheFlag implements ITypeConverter<KvCacheType> {
    @Override
    public KvCacheType convert(String value) {
        return KvCacheType.byLabel(value).orElseThrow(() -> new TypeConversionException("'" + value
                + "' is not a KV cache type; choose one of " + KvCacheType.labels()));
    }
}
