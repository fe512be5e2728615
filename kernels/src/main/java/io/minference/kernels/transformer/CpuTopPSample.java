package io.minference.kernels.transformer;

import java.util.Arrays;

/**
 * Temperature and top-p (nucleus) sampling defined so that a GPU kernel ({@link TopPSample}) picks exactly the same
 * token: every step is one IEEE operation (float multiply, subtract, FMA, floor) or integer arithmetic, so no
 * summation order can change the result. This class is the reference of that definition and the CPU sampler.
 *
 * <ol>
 * <li>{@code z = logit * inverseTemperature}; m = the largest z that is not NaN.</li>
 * <li>Each token's weight: {@code t = (z - m) * log2(e)}, {@code n = floor(t)}; below 2^-36 of the top
 * ({@code n < -36}, or t NaN) the weight is 0; else {@code w = p(t - n) * 2^(n + 36)} in float, with p a fixed
 * degree-7 polynomial for 2^f on [0, 1) evaluated by FMA, and the integer weight is w truncated. The key is w's bit
 * pattern (weights order like their keys).</li>
 * <li>Candidates in order: key descending, then id ascending. W = the sum of all integer weights (exact in a long:
 * weights are below 2^37 and the vocabulary at most 2^17).</li>
 * <li>The nucleus: with {@code P = round(topP * 2^24)}, {@code L = floor(W * P / 2^24)}; if {@code L < W} the
 * nucleus is the shortest prefix whose mass exceeds L, else every token. M = its mass.</li>
 * <li>With {@code U = floor(u * 2^32)}, {@code R = floor(M * U / 2^32) < M}; the token is the first candidate at
 * which the running mass exceeds R.</li>
 * </ol>
 * When every weight is 0 (all logits NaN or infinite) there is no token: -1.
 */
public final class CpuTopPSample {
    /** The largest vocabulary for which the weights' sum stays exact. */
    public static final int MAX_VOCAB = 1 << 17;
    /** Weights are 2^36 at the most likely token. */
    static final int WEIGHT_EXPONENT = 36;
    static final float LOG2_E = 1.44269504f;
    /** ln(2)^k / k!, k = 7 .. 0: Taylor coefficients of 2^f, highest first. */
    static final float[] EXP2_POLYNOMIAL = polynomial();
    static final int FIXED_BITS = 24;

    private CpuTopPSample() {
    }

    private static float[] polynomial() {
        float[] c = new float[8];
        double term = 1;
        for (int k = 0; k < 8; k++) {
            c[7 - k] = (float) term;
            term *= Math.log(2) / (k + 1);
        }
        return c;
    }

    /** topP in (0, 1] as the 24-bit fraction the kernel takes. */
    public static int topPFixed(float topP) {
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        return (int) Math.max(1, Math.round(topP * (double) (1 << FIXED_BITS)));
    }

    /** u in [0, 1) as the 32-bit fraction the kernel takes. */
    public static long uniformFixed(double u) {
        if (!(u >= 0 && u < 1)) throw new IllegalArgumentException("u must be in [0, 1), got " + u);
        return (long) (u * 4294967296.0);
    }

    /** The token that the kernel picks from {@code logits[from, from + vocab)}, or -1 when no weight is positive. */
    public static int sample(float[] logits, int from, int vocab, float temperature, float topP, double u) {
        if (vocab < 1 || vocab > MAX_VOCAB) {
            throw new IllegalArgumentException("top-p sampling takes 1 to " + MAX_VOCAB + " logits, got " + vocab);
        }
        if (!(temperature > 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("sampling needs a finite temperature > 0, got " + temperature);
        }
        int[] keys = keys(logits, from, vocab, 1f / temperature);
        long[] candidates = new long[vocab];
        long total = 0;
        for (int i = 0; i < vocab; i++) {
            // key descending, id ascending: sort ascending on (~key, id); keys are non-negative
            candidates[i] = (long) ~keys[i] << 32 | i;
            total += weight(keys[i]);
        }
        if (total == 0) return -1;
        Arrays.sort(candidates);
        long nucleusLimit = nucleusLimit(total, topPFixed(topP));
        long mass = nucleusLimit < total ? massThrough(candidates, nucleusLimit) : total;
        long target = scaleByFraction(mass, uniformFixed(u));
        long running = 0;
        for (long candidate : candidates) {
            running += weight(~(int) (candidate >> 32));
            if (running > target) return (int) candidate;
        }
        throw new AssertionError("the target " + target + " lies below the mass " + mass);
    }

    /** The weight keys (float bits of w) of {@code logits[from, from + vocab)}. */
    static int[] keys(float[] logits, int from, int vocab, float inverseTemperature) {
        float max = Float.NEGATIVE_INFINITY;
        float[] z = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            z[i] = logits[from + i] * inverseTemperature;
            if (z[i] > max) max = z[i];
        }
        int[] keys = new int[vocab];
        for (int i = 0; i < vocab; i++) keys[i] = key(z[i], max);
        return keys;
    }

    /** The weight key of a scaled logit z given the largest, 0 for weight 0. */
    static int key(float z, float max) {
        float t = (z - max) * LOG2_E;
        float n = (float) Math.floor(t);
        if (!(n >= -WEIGHT_EXPONENT)) return 0;
        float f = t - n;
        float p = EXP2_POLYNOMIAL[0];
        for (int c = 1; c < EXP2_POLYNOMIAL.length; c++) p = Math.fma(p, f, EXP2_POLYNOMIAL[c]);
        float scale = Float.intBitsToFloat(((int) n + WEIGHT_EXPONENT + 127) << 23);
        return Float.floatToRawIntBits(p * scale);
    }

    /** The integer weight of a key: the float truncated. */
    static long weight(int key) {
        return (long) Float.intBitsToFloat(key);
    }

    /** floor(total * p / 2^24), exactly, for total below 2^54. */
    static long nucleusLimit(long total, int p) {
        return (total >>> FIXED_BITS) * p + (((total & 0xFF_FFFFL) * p) >>> FIXED_BITS);
    }

    /** floor(mass * u / 2^32), exactly, for mass below 2^54 and u below 2^32. */
    static long scaleByFraction(long mass, long u) {
        return (mass >>> 32) * u + (((mass & 0xFFFF_FFFFL) * u) >>> 32);
    }

    /** The mass of the shortest prefix of the sorted candidates whose mass exceeds {@code limit}. */
    private static long massThrough(long[] candidates, long limit) {
        long running = 0;
        for (long candidate : candidates) {
            running += weight(~(int) (candidate >> 32));
            if (running > limit) return running;
        }
        return running;
    }
}
