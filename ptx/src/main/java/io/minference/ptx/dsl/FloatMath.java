package io.minference.ptx.dsl;

/** Float functions: the fast approximate unit ({@code ex2}, {@code lg2}, {@code rcp}, {@code rsqrt}) and exact ones. */
public interface FloatMath extends Arithmetic {
    private F32 unary(String hint, String opcode, F32 a) {
        F32 d = emitter().declare(new F32(hint));
        emitter().instruction(opcode, d, a);
        return d;
    }

    /** 2^x, approximate (2 ulp), flushing denormals. */
    default F32 ex2(F32 x) {
        return unary("ex2", "ex2.approx.ftz.f32", x);
    }

    /** log2(x), approximate. */
    default F32 lg2(F32 x) {
        return unary("lg2", "lg2.approx.ftz.f32", x);
    }

    /** 1/x, approximate (1 ulp). */
    default F32 rcp(F32 x) {
        return unary("rcp", "rcp.approx.ftz.f32", x);
    }

    /** 1/sqrt(x), approximate. */
    default F32 rsqrt(F32 x) {
        return unary("rsqrt", "rsqrt.approx.ftz.f32", x);
    }

    /** sqrt(x), correctly rounded. */
    default F32 sqrt(F32 x) {
        return unary("sqrt", "sqrt.rn.f32", x);
    }

    /** tanh(x), approximate (sm_75+). */
    default F32 tanh(F32 x) {
        return unary("tanh", "tanh.approx.f32", x);
    }

    /** e^x as 2^(x log2 e), approximate. */
    default F32 exp(F32 x) {
        return ex2(mul(x, (float) (1.0 / Math.log(2.0))));
    }

    default F32 abs(F32 x) {
        return unary("abs", "abs.f32", x);
    }

    default F32 neg(F32 x) {
        return unary("neg", "neg.f32", x);
    }
}
