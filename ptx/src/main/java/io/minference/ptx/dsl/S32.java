package io.minference.ptx.dsl;

/** A signed 32-bit integer register ({@code .s32}). */
public final class S32 extends Reg implements Numeric<S32>, Integral<S32> {
    S32(String hint) {
        super(RegType.S32, hint, null);
    }

    S32(String hint, String literal) {
        super(RegType.S32, hint, literal);
    }

    @Override
    S32 fresh(String hint) {
        return new S32(hint);
    }

    /** Names this register in the emitted PTX (made unique if taken). */
    public S32 named(String name) {
        rename(name);
        return this;
    }
}
