package io.minference.kernels.transformer;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.B32;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.U64;

/**
 * Instructions these kernels need that the DSL's families do not offer (approximate sine and cosine, rounding to an
 * integer, a multiply that ptxas may not fuse, 64-bit constants with the top bit set), and the bf16 packing idioms.
 */
final class PtxOps {
    private PtxOps() {
    }

    /** sin(x), approximate: absolute error about 2^-20.5 for x in [-pi, pi]. */
    static F32 sin(KernelBuilder k, F32 x) {
        return unary(k, "sin", "sin.approx.f32", x);
    }

    /** cos(x), approximate: absolute error about 2^-20.5 for x in [-pi, pi]. */
    static F32 cos(KernelBuilder k, F32 x) {
        return unary(k, "cos", "cos.approx.f32", x);
    }

    /** x rounded to the nearest integer (ties to even), as a float. */
    static F32 roundToInteger(KernelBuilder k, F32 x) {
        return unary(k, "rni", "cvt.rni.f32.f32", x);
    }

    /** a * b rounded once; {@code .rn} keeps ptxas from contracting it into a later add. */
    static F32 mulRounded(KernelBuilder k, F32 a, F32 b) {
        F32 d = k.emitter().like(a, "prod");
        k.emitter().instruction("mul.rn.f32", d, a, b);
        return d;
    }

    private static F32 unary(KernelBuilder k, String hint, String opcode, F32 x) {
        F32 d = k.emitter().like(x, hint);
        k.emitter().instruction(opcode, d, x);
        return d;
    }

    /** Any 64-bit constant, the DSL's u64 immediates being limited to non-negative longs; ptxas folds the or. */
    static U64 constant(KernelBuilder k, long value) {
        U64 high = k.shl(k.toU64(k.u32(value >>> 32)), 32);
        return k.or(high, k.toU64(k.u32(value & 0xFFFF_FFFFL)));
    }

    /** Eight floats from two 16-byte loads at a 16-byte aligned address. */
    static F32[] loadF32x8(KernelBuilder k, Address at) {
        F32[] low = k.loadF32x4(at);
        F32[] high = k.loadF32x4(at.plus(16));
        return new F32[] {low[0], low[1], low[2], low[3], high[0], high[1], high[2], high[3]};
    }

    /** Eight floats as two 16-byte stores. */
    static void storeF32x8(KernelBuilder k, Address at, F32[] v) {
        k.storeVector(at, v[0], v[1], v[2], v[3]);
        k.storeVector(at.plus(16), v[4], v[5], v[6], v[7]);
    }

    /** The 2n floats of n words of packed bf16 pairs, low half first, exactly. */
    static F32[] unpackBf16(KernelBuilder k, B32[] words) {
        F32[] values = new F32[2 * words.length];
        for (int w = 0; w < words.length; w++) {
            values[2 * w] = k.bitsAsF32(k.shl(words[w], 16));
            values[2 * w + 1] = k.bitsAsF32(k.and(words[w], k.b32(0xFFFF0000)));
        }
        return values;
    }

    /** Pairs of floats rounded to nearest-even bf16 and packed, element 2i in the low half of word i. */
    static B32[] packBf16(KernelBuilder k, F32[] values) {
        B32[] words = new B32[values.length / 2];
        for (int w = 0; w < words.length; w++) {
            words[w] = k.packBf16(values[2 * w], values[2 * w + 1]);
        }
        return words;
    }
}
