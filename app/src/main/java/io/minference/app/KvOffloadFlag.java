package io.minference.app;

import io.minference.config.KvOffload;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** --kv-offload none|host, with a message naming the choices for anything else. */
final class KvOffloadFlag implements ITypeConverter<KvOffload> {
    @Override
    public KvOffload convert(String value) {
        return KvOffload.byLabel(value).orElseThrow(() -> new TypeConversionException("'" + value
                + "' is not a KV offload; choose one of " + KvOffload.labels()));
    }
}
