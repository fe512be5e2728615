package io.minference.ptx.dsl;

/**
 * Conversions between register types, and packing of f32 pairs into bf16x2/f16x2 registers. PTX's
 * {@code cvt.rn.bf16x2.f32 d, a, b} puts {@code a} in the upper half, so {@link #packBf16} takes (low, high) and
 * swaps them: element 0 of a packed pair is always the low half, as mma and ldmatrix expect.
 */
public interface Conversions extends Arithmetic {
    private <R extends Reg> R convert(R d, String opcode, Reg a) {
        emitter().declare(d);
        emitter().instruction(opcode, d, a);
        return d;
    }

    default F32 toF32(U32 a) {
        return convert(new F32("f"), "cvt.rn.f32.u32", a);
    }

    default F32 toF32(S32 a) {
        return convert(new F32("f"), "cvt.rn.f32.s32", a);
    }

    /** Truncates toward zero. */
    default S32 toS32(F32 a) {
        return convert(new S32("i"), "cvt.rzi.s32.f32", a);
    }

    /** Reinterprets the bits (two's complement). */
    default S32 toS32(U32 a) {
        return convert(new S32("i"), "mov.b32", a);
    }

    /** Reinterprets the bits (two's complement). */
    default U32 toU32(S32 a) {
        return convert(new U32("u"), "mov.b32", a);
    }

    /** Truncates to the low 32 bits. */
    default U32 toU32(U64 a) {
        return convert(new U32("u"), "cvt.u32.u64", a);
    }

    /** Zero-extends. */
    default U64 toU64(U32 a) {
        return convert(new U64("wide"), "cvt.u64.u32", a);
    }

    /** Sign-extends (the result holds the two's-complement bits of the signed value). */
    default U64 toU64(S32 a) {
        return convert(new U64("wide"), "cvt.s64.s32", a);
    }

    /** The raw bits of a float. */
    default B32 bits(F32 a) {
        return convert(new B32("bits"), "mov.b32", a);
    }

    /** The raw bits of a signed integer. */
    default B32 bits(S32 a) {
        return convert(new B32("bits"), "mov.b32", a);
    }

    /** The raw bits as an unsigned integer. */
    default U32 bitsAsU32(B32 a) {
        return convert(new U32("u"), "mov.b32", a);
    }

    /** Bits reinterpreted as a float. */
    default F32 bitsAsF32(B32 a) {
        return convert(new F32("f"), "mov.b32", a);
    }

    /** Two floats rounded (to nearest even) to bf16 and packed: {@code low} in bits 0-15. */
    default Bf16x2 packBf16(F32 low, F32 high) {
        Bf16x2 d = emitter().declare(new Bf16x2("bf2"));
        emitter().instruction("cvt.rn.bf16x2.f32", d, high, low);
        return d;
    }

    /** Two floats rounded to IEEE half and packed: {@code low} in bits 0-15. */
    default F16x2 packF16(F32 low, F32 high) {
        F16x2 d = emitter().declare(new F16x2("h2"));
        emitter().instruction("cvt.rn.f16x2.f32", d, high, low);
        return d;
    }

    /** Element 0 (low half) of a bf16 pair, exactly, as f32. */
    default F32 lowF32(Bf16x2 pair) {
        return bitsAsF32(shl((B32) pair, 16));
    }

    /** Element 1 (high half) of a bf16 pair, exactly, as f32. */
    default F32 highF32(Bf16x2 pair) {
        return bitsAsF32(and((B32) pair, b32(0xFFFF0000)));
    }

    /** Element 0 (low half) of an f16 pair as f32. */
    default F32 lowF32(F16x2 pair) {
        return halfToF32(half(pair, false));
    }

    /** Element 1 (high half) of an f16 pair as f32. */
    default F32 highF32(F16x2 pair) {
        return halfToF32(half(pair, true));
    }

    private B16 half(B32 pair, boolean high) {
        B16 low = emitter().declare(new B16("lo"));
        B16 up = emitter().declare(new B16("hi"));
        emitter().instruction("mov.b32", new Reg[] {low, up}, pair);
        return high ? up : low;
    }

    /**
     * Four e4m3 codes packed in a word (element i in byte i) as f32, exactly: each pair of codes through
     * {@code cvt.rn.f16x2.e4m3x2} (every e4m3 value is an f16 value), then each half widened. Needs sm_89 or newer.
     */
    default F32[] e4m3x4ToF32(B32 word) {
        B16 low = emitter().declare(new B16("codes"));
        B16 high = emitter().declare(new B16("codes"));
        emitter().instruction("mov.b32", new Reg[] {low, high}, word);
        F32[] values = new F32[4];
        B16[] pairs = {low, high};
        for (int h = 0; h < 2; h++) {
            F16x2 pair = emitter().declare(new F16x2("h2"));
            emitter().instruction("cvt.rn.f16x2.e4m3x2", pair, pairs[h]);
            values[2 * h] = lowF32(pair);
            values[2 * h + 1] = highF32(pair);
        }
        return values;
    }

    /** A bf16 value (in a 16-bit register) as f32, exactly. */
    default F32 bf16ToF32(B16 value) {
        U32 wide = convert(new U32("u"), "cvt.u32.u16", value);
        return convert(new F32("f"), "mov.b32", shl(wide, 16));
    }

    /** An IEEE half value (in a 16-bit register) as f32. */
    default F32 halfToF32(B16 value) {
        return convert(new F32("f"), "cvt.f32.f16", value);
    }

    /** A float rounded to bf16 (through the packed conversion, which sm_80 supports). */
    default B16 toBf16(F32 value) {
        return half(packBf16(value, f32(0)), false);
    }

    /** A float rounded to IEEE half. */
    default B16 toF16(F32 value) {
        return convert(new B16("h"), "cvt.rn.f16.f32", value);
    }
}
