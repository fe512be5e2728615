package io.minference.ptx.dsl;

/** A 64-bit untyped register ({@code .b64}). */
public final class B64 extends Reg implements Integral<B64> {
    B64(String hint) {
        super(RegType.B64, hint, null);
    }

    B64(String hint, String literal) {
        super(RegType.B64, hint, literal);
    }

    @Override
    B64 fresh(String hint) {
        return new B64(hint);
    }

    /** Names this register in the emitted PTX (made unique if taken). */
    public B64 named(String name) {
        rename(name);
        return this;
    }
}
