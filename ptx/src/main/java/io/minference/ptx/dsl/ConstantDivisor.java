package io.minference.ptx.dsl;

/**
 * How {@link Arithmetic#div(U32, long)} divides a u32 by a constant without a division instruction: a shift for a
 * power of two, else a multiply-high by a magic number and a shift (Granlund and Montgomery).
 * <p>With {@code M = ceil(2^(32 + shift) / d)} and {@code e = M d - 2^(32 + shift)} ({@code 0 <= e < d}),
 * {@code a M / 2^(32 + shift) = a / d + a e / (d 2^(32 + shift))}; once {@code e <= 2^shift} the second term is below
 * {@code 1 / d} for every {@code a < 2^32}, too small to carry {@code a / d} past the next integer, so the floors
 * agree. {@link #of} takes the smallest such shift; {@code shift = ceil(log2 d)} always qualifies, with
 * {@code M < 2^33}. Where {@code M} fits 32 bits (d = 3: shift 1, M = 0xAAAAAAAB) the quotient is
 * {@code mulhi(a, M) >> shift}; where it needs the 33rd bit ({@code wide}, d = 7 for one) {@code multiplier} holds
 * {@code M - 2^32}, {@code t = mulhi(a, multiplier)}, and the quotient is {@code (t + ((a - t) >> 1)) >> (shift - 1)}:
 * {@code (a + t) >> shift} without the carry out of 32 bits.
 *
 * @param divisor    the constant, 1 to {@link #LARGEST}
 * @param multiplier the magic number ({@code M}, or {@code M - 2^32} when wide; 0 for a power of two)
 * @param shift      the right shift after the multiply-high, or log2 of a power of two
 * @param wide       whether {@code M} needs 33 bits
 */
public record ConstantDivisor(long divisor, long multiplier, int shift, boolean wide) {
    /** The largest divisor handled: past it a u32 quotient is 0 or 1, and {@code 2^(32 + shift)} overflows. */
    public static final long LARGEST = 1L << 31;
    private static final long WORD = 1L << 32;

    public boolean powerOfTwo() {
        return Long.bitCount(divisor) == 1;
    }

    /** The shift or magic number for {@code d}; an error for 0 or a value past {@link #LARGEST}. */
    public static ConstantDivisor of(long d) {
        if (d < 1 || d > LARGEST) {
            throw new IllegalArgumentException("a constant divisor is between 1 and 2^31, not " + d);
        }
        if (Long.bitCount(d) == 1) {
            return new ConstantDivisor(d, 0, Long.numberOfTrailingZeros(d), false);
        }
        int shift = 0;
        while (true) {
            // shift <= ceil(log2 d) <= 31, so 2^(32 + shift) fits 64 bits, unsigned
            long power = 1L << (32 + shift);
            long multiplier = Long.divideUnsigned(power + d - 1, d);
            if (multiplier * d - power <= (1L << shift)) {
                return multiplier < WORD ? new ConstantDivisor(d, multiplier, shift, false)
                        : new ConstantDivisor(d, multiplier - WORD, shift, true);
            }
            shift++;
        }
    }

    /** What the emitted instructions compute, for tests: {@code a / divisor} for a u32 {@code a}. */
    public long apply(long a) {
        if (powerOfTwo()) {
            return a >>> shift;
        }
        long high = (a * multiplier) >>> 32;
        return wide ? (high + ((a - high) >>> 1)) >>> (shift - 1) : high >>> shift;
    }
}
