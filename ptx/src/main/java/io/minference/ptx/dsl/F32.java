package io.minference.ptx.dsl;

/** A single-precision float register ({@code .f32}). */
public final class F32 extends Reg implements Numeric<F32> {
    F32(String hint) {
        super(RegType.F32, hint, null);
    }

    F32(String hint, String literal) {
        super(RegType.F32, hint, literal);
    }

    @Override
    F32 fresh(String hint) {
        return new F32(hint);
    }

    /** Names this register in the emitted PTX (made unique if taken). */
    public F32 named(String name) {
        rename(name);
        return this;
    }
}
