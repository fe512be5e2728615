package io.minference.kernels.kvcache;

/**
 * The code format of the 8-bit KV cache ({@link io.minference.kernels.kvcache}); both keep one byte per element and
 * an f32 scale per KV head and 64-position block, {@code scale = amax / max()}, in the same layout.
 * <ul>
 *   <li>{@link #E4M3}: FP8 e4m3 codes ({@link Fp8E4m3}), {@code scale = amax / 448}. Its 3-bit mantissa alone moves
 *       the pass-key model's decode logits by about 0.03 relative (0.042 / 0.051 after 8K / 16K prompts with these
 *       scales), past issue 13's 2e-2, whatever the scale granularity (BENCHMARKS.md, "8-bit KV codes: e4m3 against
 *       int8, and scale granularity"). On sm_90a decode may convert it by {@code cvt.rn.f16x2.e4m3x2}.</li>
 *   <li>{@link #INT8}: symmetric int8 codes ({@link KvBlockCodes}), {@code scale = amax / 127}: 0.0068 / 0.0137 on
 *       the same measurement, within the bound.</li>
 * </ul>
 */
public enum KvCodes {
    E4M3("e4m3", Fp8E4m3.MAX),
    INT8("int8", KvBlockCodes.MAX);

    private final String label;
    private final float max;

    KvCodes(String label, float max) {
        this.label = label;
        this.max = max;
    }

    /** The format's name in kernel names and messages: "e4m3" or "int8". */
    public String label() {
        return label;
    }

    /** The largest code magnitude, which a block's amax maps to. */
    public float max() {
        return max;
    }

    /** The code of x (already divided by its scale). */
    public byte encode(float x) {
        return this == E4M3 ? Fp8E4m3.encode(x) : KvBlockCodes.encode(x);
    }

    /** The value of a code (before its scale), exactly. */
    public float decode(byte code) {
        return this == E4M3 ? Fp8E4m3.decode(code) : KvBlockCodes.decode(code);
    }

    /** The scale of a block whose largest magnitude is amax. */
    public float scaleOf(float amax) {
        return amax / max;
    }

    /**
     * Quantizes one KV head's block: {@code rows} rows of {@code headDim} values starting at {@code values[from]},
     * {@code rowStride} apart, into {@code codes} at the same offsets. The values should be bf16 numbers (what the
     * device cache holds). Returns the block's scale (0 for an all-zero block, whose codes are 0). Every step is
     * written as the kernels' {@link Fp8Ops} compute it, so that the device's bytes and scales equal these bit for
     * bit.
     */
    public float quantizeBlock(float[] values, int from, int rows, int rowStride, int headDim, byte[] codes) {
        float amax = 0;
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < headDim; i++) amax = Math.max(amax, Math.abs(values[from + r * rowStride + i]));
        }
        float scale = scaleOf(amax);
        float divisor = amax == 0 ? 1 : scale;
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < headDim; i++) {
                int at = from + r * rowStride + i;
                codes[at] = encode(values[at] / divisor);
            }
        }
        return scale;
    }
}
