package io.minference.runtime.cuda;

/** Conversions between float and bfloat16 bits (the upper half of a float, rounded to nearest even). */
public final class BFloat16 {
    private BFloat16() {
    }

    public static short fromFloat(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) return (short) ((bits >>> 16) | 0x0040); // keep it a (quiet) NaN
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    public static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** {@code value} rounded to the nearest bfloat16, as a float. */
    public static float round(float value) {
        return toFloat(fromFloat(value));
    }
}
