package io.minference.kernels.kvcache;

/**
 * Which values of a 64-position block share one scale in the 8-bit KV cache ({@link io.minference.kernels.kvcache}):
 * int8 keys take one per {@value #KEY_CHANNELS} channels of a KV head (one per head where its size is not a multiple
 * of 16); e4m3 keys, and values in either format, one per KV head. The scales of a block lie in a row of
 * {@link #perRow} floats, column c's at {@code c / channels}.
 * <p>Why int8 keys are finer: K's channels differ widely in magnitude, and one scale over the whole head spends
 * int8's evenly spaced levels on the largest; the smaller channels then keep few levels. On the pass-key model, int8
 * keys scaled per 16 channels moved the decode logits after an 8K and a 16K prompt by 0.0065 and 0.0050 (worst of
 * 32 steps, relative) against 0.0068 and 0.0137 with a scale per head, for 0.2 % more bytes; per channel gave
 * 0.0037 and 0.0030 for 3 %; values scaled per 16 channels gained nothing (BENCHMARKS.md, "8-bit KV codes: e4m3
 * against int8, and scale granularity"). e4m3 is a floating-point format: its rounding error is relative to each
 * value (a 3-bit mantissa) whatever the scale, so finer scales do not help it, and measured they did not.
 * <p>Sixteen channels is the widest group that a decode lane's elements (8 or 16 of a row, from a multiple of their
 * count) never straddle, so the decode kernel applies a key scale to a lane's partial dot product before the lanes
 * of a row add theirs: no more multiplications than one scale per head needs.
 */
public enum KvScaleGroup {
    KEYS,
    VALUES;

    /** Channels of a KV head that share an int8 key scale. */
    public static final int KEY_CHANNELS = 16;

    /**
     * Channels of a head of {@code headDim} that share one scale in {@code format}: for int8 keys 16, or the whole
     * head where its size is not a multiple of 16 (small models on the CPU; the GPU kernels take heads of 64 and 128).
     */
    public int channels(KvCodes format, int headDim) {
        if (headDim < 1) throw new IllegalArgumentException("a head size must be positive, got " + headDim);
        return this == KEYS && format == KvCodes.INT8 && headDim % KEY_CHANNELS == 0 ? KEY_CHANNELS : headDim;
    }

    /** Scales of one KV head in one block. */
    public int perHead(KvCodes format, int headDim) {
        return headDim / channels(format, headDim);
    }

    /** Scales of one block: {@code numKvHeads * perHead}. */
    public int perRow(KvCodes format, int numKvHeads, int headDim) {
        return numKvHeads * perHead(format, headDim);
    }
}
