package io.minference.ptx.dsl;

/**
 * Integer and float arithmetic, bitwise operations and shifts. The generic forms take two values of one register
 * class; the {@code long}/{@code float} overloads take an immediate second operand.
 */
public interface Arithmetic extends Values {
    private <R extends Reg> R binary(String op, String opcode, R a, Reg b) {
        R d = emitter().like(a, op);
        emitter().instruction(opcode, d, a, b);
        return d;
    }

    private static String suffix(Reg r) {
        return r.type().ptx();
    }

    default <R extends Reg & Numeric<R>> R add(R a, R b) {
        return binary("sum", "add." + suffix(a), a, b);
    }

    default <R extends Reg & Numeric<R>> R sub(R a, R b) {
        return binary("diff", "sub." + suffix(a), a, b);
    }

    /** Product; for integers the low half ({@code mul.lo}). */
    default <R extends Reg & Numeric<R>> R mul(R a, R b) {
        return binary("prod", a.type() == RegType.F32 ? "mul.f32" : "mul.lo." + suffix(a), a, b);
    }

    /** {@code a * b + c}: {@code fma.rn.f32} for floats, {@code mad.lo} for integers. */
    default <R extends Reg & Numeric<R>> R mad(R a, R b, R c) {
        R d = emitter().like(a, "mad");
        emitter().instruction(a.type() == RegType.F32 ? "fma.rn.f32" : "mad.lo." + suffix(a), d, a, b, c);
        return d;
    }

    default <R extends Reg & Numeric<R>> R min(R a, R b) {
        return binary("min", "min." + suffix(a), a, b);
    }

    default <R extends Reg & Numeric<R>> R max(R a, R b) {
        return binary("max", "max." + suffix(a), a, b);
    }

    /** Quotient: IEEE round-to-nearest for floats, truncating for integers. */
    default <R extends Reg & Numeric<R>> R div(R a, R b) {
        return binary("quot", a.type() == RegType.F32 ? "div.rn.f32" : "div." + suffix(a), a, b);
    }

    /** Integer remainder. */
    default <R extends Reg & Numeric<R> & Integral<R>> R rem(R a, R b) {
        return binary("rem", "rem." + suffix(a), a, b);
    }

    /** The full 64-bit product of two 32-bit values ({@code mul.wide.u32}), for byte offsets. */
    default U64 mulWide(U32 a, U32 b) {
        U64 d = emitter().declare(new U64("wide"));
        emitter().instruction("mul.wide.u32", d, a, b);
        return d;
    }

    default U64 mulWide(U32 a, long b) {
        return mulWide(a, u32(b));
    }

    default <R extends Reg & Integral<R>> R and(R a, R b) {
        return binary("and", "and." + a.type().bitsSuffix(), a, b);
    }

    default <R extends Reg & Integral<R>> R or(R a, R b) {
        return binary("or", "or." + a.type().bitsSuffix(), a, b);
    }

    default <R extends Reg & Integral<R>> R xor(R a, R b) {
        return binary("xor", "xor." + a.type().bitsSuffix(), a, b);
    }

    default <R extends Reg & Integral<R>> R not(R a) {
        R d = emitter().like(a, "not");
        emitter().instruction("not." + a.type().bitsSuffix(), d, a);
        return d;
    }

    default <R extends Reg & Integral<R>> R shl(R a, int bits) {
        return binary("shl", "shl." + a.type().bitsSuffix(), a, u32(bits));
    }

    /** Right shift: arithmetic for signed types, logical otherwise. */
    default <R extends Reg & Integral<R>> R shr(R a, int bits) {
        return binary("shr", "shr." + a.type().integerSuffix(), a, u32(bits));
    }

    /**
     * {@code prmt.b32}: byte i of the result is byte {@code n} of the eight bytes {@code b:a} ({@code a} bytes 0-3,
     * {@code b} bytes 4-7), where {@code n} is the low three bits of nibble i of {@code selector}; with the nibble's
     * fourth bit set, it is that byte's sign (its top bit) copied into all eight bits. One instruction that gathers
     * bytes from two words, or moves a byte under constant bytes (an exponent, say).
     */
    default B32 permute(B32 a, B32 b, int selector) {
        if ((selector & 0xFFFF0000) != 0) {
            throw new IllegalArgumentException("a prmt selector has four nibbles, not 0x"
                    + Integer.toHexString(selector));
        }
        B32 d = emitter().like(a, "prmt");
        emitter().instruction("prmt.b32", d, a, b, u32(selector));
        return d;
    }

    default U32 add(U32 a, long b) {
        return add(a, u32(b));
    }

    default U32 sub(U32 a, long b) {
        return sub(a, u32(b));
    }

    default U32 mul(U32 a, long b) {
        return mul(a, u32(b));
    }

    /**
     * Quotient by a constant: a shift for a power of two, else a multiply-high by {@link ConstantDivisor}'s magic
     * number and a shift (three more instructions where it needs 33 bits), exact for every u32; divisors past 2^31
     * (a quotient of 0 or 1) divide by a register. ptxas leaves {@code div.u32} by an immediate to its general
     * sequence (a float reciprocal, its refinement and corrections: about 20 dependent instructions), which in the
     * Hopper kernels' ring arithmetic ({@code step / stages}) sat at the head of every key step.
     */
    default U32 div(U32 a, long b) {
        if (b > ConstantDivisor.LARGEST) {
            return div(a, u32(b));
        }
        ConstantDivisor divisor = ConstantDivisor.of(b);
        if (divisor.powerOfTwo()) {
            return divisor.shift() == 0 ? a : shr(a, divisor.shift());
        }
        U32 high = mulHi(a, u32(divisor.multiplier()));
        if (divisor.wide()) {
            U32 half = shr(sub(a, high), 1);
            U32 sum = add(high, half);
            return divisor.shift() == 1 ? sum : shr(sum, divisor.shift() - 1);
        }
        return divisor.shift() == 0 ? high : shr(high, divisor.shift());
    }

    /** Remainder by a constant: a mask for a power of two, else {@code a - (a / b) b} by {@link #div(U32, long)}. */
    default U32 rem(U32 a, long b) {
        if (b > ConstantDivisor.LARGEST) {
            return rem(a, u32(b));
        }
        ConstantDivisor divisor = ConstantDivisor.of(b);
        if (divisor.powerOfTwo()) {
            return and(a, b - 1);
        }
        return sub(a, mul(div(a, b), b));
    }

    /** The high 32 bits of the 64-bit product ({@code mul.hi.u32}). */
    default U32 mulHi(U32 a, U32 b) {
        return binary("hi", "mul.hi.u32", a, b);
    }

    default U32 and(U32 a, long b) {
        return and(a, u32(b));
    }

    default U32 xor(U32 a, long b) {
        return xor(a, u32(b));
    }

    default U64 add(U64 a, long b) {
        return add(a, u64(b));
    }

    default U64 mul(U64 a, long b) {
        return mul(a, u64(b));
    }

    default S32 add(S32 a, int b) {
        return add(a, s32(b));
    }

    default F32 add(F32 a, float b) {
        return add(a, f32(b));
    }

    default F32 mul(F32 a, float b) {
        return mul(a, f32(b));
    }
}
