package io.minference.kernels.kvcache;

/**
 * The int8 codes of the 8-bit KV cache ({@link KvCodes#INT8}, see {@link io.minference.kernels.kvcache}): symmetric
 * int8, f32 scales per block ({@link KvScaleGroup}), {@code scale = amax / 127}, each code the integer nearest
 * {@code x / scale} (ties to even). Every step is written as the kernels' {@link KvCodeOps} compute it (an IEEE
 * division, a round to nearest even), so that the device's bytes and scales equal these bit for bit.
 * <p>Why int8 is the accurate choice: on the pass-key model the decode logits after an 8K and a 16K prompt moved by
 * 0.042 and 0.051 (worst of 32 steps, relative) with e4m3 blocks, and by 0.030 and 0.033 even with e4m3's 3-bit
 * mantissa under an ideal per-value scale, so no finer e4m3 scale meets issue 13's 2e-2; int8 with the same per-block
 * scales gave 0.0068 and 0.0137, and 0.0065 and 0.0050 with keys scaled per 16 channels (the table and its command
 * are in BENCHMARKS.md and {@code KvCodeGranularityMeasurement}). The codes' bytes are laid out as e4m3's
 * ({@link KvCodes}).
 */
public final class KvBlockCodes {
    /** The largest code magnitude. */
    public static final float MAX = 127f;

    private KvBlockCodes() {
    }

    /**
     * The code of x (already divided by its scale): the nearest integer, ties to even, clamped to [-127, 127]; NaN
     * gives 0 (as {@code cvt.rni.s32.f32} does).
     */
    public static byte encode(float x) {
        float rounded = (float) Math.rint(x);
        return (byte) Math.max(-127, Math.min(127, (int) rounded));
    }

    /** The value of a code (before its scale), exactly. */
    public static float decode(byte code) {
        return code;
    }
}
