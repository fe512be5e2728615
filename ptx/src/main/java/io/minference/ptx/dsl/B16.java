package io.minference.ptx.dsl;

/** A 16-bit register ({@code .b16}) holding one f16 or bf16 value. */
public final class B16 extends Reg implements Integral<B16> {
    B16(String hint) {
        super(RegType.B16, hint, null);
    }

    B16(String hint, String literal) {
        super(RegType.B16, hint, literal);
    }

    @Override
    B16 fresh(String hint) {
        return new B16(hint);
    }

    /** Names this register in the emitted PTX (made unique if taken). */
    public B16 named(String name) {
        rename(name);
        return this;
    }
}
