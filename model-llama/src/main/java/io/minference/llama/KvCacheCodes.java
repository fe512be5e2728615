package io.minference.llama;

import io.minference.config.KvCacheType;
import io.minference.kernels.kvcache.KvCodes;

/** The code format of an 8-bit KV cache type: where the configuration's name meets the kernels' format. */
public final class KvCacheCodes {
    private KvCacheCodes() {
    }

    /** {@code fp8} keeps e4m3 codes, {@code int8} int8 codes; bf16 has none. */
    public static KvCodes of(KvCacheType type) {
        return switch (type) {
            case FP8 -> KvCodes.E4M3;
            case INT8 -> KvCodes.INT8;
            case BF16 -> throw new IllegalArgumentException("a bf16 KV cache keeps no 8-bit codes");
        };
    }
}
