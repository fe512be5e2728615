package io.minference.kernels.kvcache;

/**
 * The e4m3 number format (1 sign, 4 exponent bits with bias 7, 3 mantissa bits; largest finite 448, no infinities,
 * 0x7F and 0xFF are NaN and never written), with integer bit operations only: the CPU reference of
 * {@link KvCodes#E4M3} ({@code --kv-cache fp8}).
 * e4m3's 3-bit mantissa alone moves the pass-key model's decode logits past issue 13's bound, whatever the scales
 * ({@link KvBlockCodes} says by how much); {@link KvCodes#INT8} meets it with the same bytes. On sm_90a decode may
 * convert these codes by {@code cvt.rn.f16x2.e4m3x2}, which gives the same values as {@link #decode}.
 */
public final class Fp8E4m3 {
    /** The largest finite e4m3 magnitude. */
    public static final float MAX = 448f;
    /** The code of +448. */
    static final int MAX_CODE = 0x7E;
    /** Magnitudes below this (2^-6) are subnormal in e4m3: multiples of 2^-9. */
    static final float SMALLEST_NORMAL = 0x1p-6f;

    private Fp8E4m3() {
    }

    /**
     * The e4m3 code nearest x (ties to even); magnitudes of 448 and more, and NaN, give 448 with x's sign
     * ({@code cvt.rn.satfinite} would give the same for finite x).
     */
    public static byte encode(float x) {
        int sign = (Float.floatToRawIntBits(x) >>> 24) & 0x80;
        float a = Math.abs(x);
        int code;
        if (!(a < MAX)) {
            code = MAX_CODE;
        } else if (a < SMALLEST_NORMAL) {
            code = (int) Math.rint(a * 512f);
        } else {
            int bits = Float.floatToRawIntBits(a);
            code = ((bits + 0x7FFFF + ((bits >>> 20) & 1)) >>> 20) - (120 << 3);
        }
        return (byte) (sign | code);
    }

    /**
     * The value of a code, exactly: its magnitude bits placed as a float's exponent and mantissa, times 2^120 (which
     * turns the float's bias 127 into e4m3's 7, subnormals included).
     */
    public static float decode(byte code) {
        int c = code & 0xFF;
        return Float.intBitsToFloat(((c & 0x7F) << 20) | ((c & 0x80) << 24)) * 0x1p120f;
    }
}
