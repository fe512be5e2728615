package io.minference.kernels.kvcache;

/**
 * The code format of the 8-bit KV cache ({@link io.minference.kernels.kvcache}); both keep one byte per element and
 * f32 scales per 64-position block ({@link KvScaleGroup}), {@code scale = amax / max()}, in the same layout.
 * <ul>
 *   <li>{@link #E4M3}: FP8 e4m3 codes ({@link Fp8E4m3}), {@code scale = amax / 448}. Its 3-bit mantissa alone moves
 *       the pass-key model's decode logits by about 0.03 relative (0.042 / 0.051 after 8K / 16K prompts with these
 *       scales), past issue 13's 2e-2, whatever the scale granularity (BENCHMARKS.md, "8-bit KV codes: e4m3 against
 *       int8, and scale granularity"). On sm_90a decode may convert it by {@code cvt.rn.f16x2.e4m3x2}.</li>
 *   <li>{@link #INT8}: symmetric int8 codes ({@link KvBlockCodes}), {@code scale = amax / 127}, keys scaled per 16
 *       channels ({@link KvScaleGroup}): 0.0065 / 0.0050 on the same measurement, within the bound (0.0068 / 0.0137
 *       with a key scale per head).</li>
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
     * Quantizes the values that share one scale: {@code rows} rows of {@code columns} values starting at
     * {@code values[from]}, {@code rowStride} apart, into {@code codes} at the same offsets. The values should be
     * bf16 numbers (what the device cache holds). Returns the scale (0 when all are zero, whose codes are 0). Every
     * step is written as the kernels' {@link KvCodeOps} compute it, so that the device's bytes and scales equal these
     * bit for bit.
     */
    public float quantizeBlock(float[] values, int from, int rows, int rowStride, int columns, byte[] codes) {
        float amax = 0;
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < columns; i++) amax = Math.max(amax, Math.abs(values[from + r * rowStride + i]));
        }
        float scale = scaleOf(amax);
        float divisor = amax == 0 ? 1 : scale;
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < columns; i++) {
                int at = from + r * rowStride + i;
                codes[at] = encode(values[at] / divisor);
            }
        }
        return scale;
    }
}
