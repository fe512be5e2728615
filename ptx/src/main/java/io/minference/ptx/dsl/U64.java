package io.minference.ptx.dsl;

/** An unsigned 64-bit integer register ({@code .u64}): global addresses and 64-bit offsets. */
public final class U64 extends Reg implements Numeric<U64>, Integral<U64> {
    U64(String hint) {
        super(RegType.U64, hint, null);
    }

    U64(String hint, String literal) {
        super(RegType.U64, hint, literal);
    }

    @Override
    U64 fresh(String hint) {
        return new U64(hint);
    }

    /** Names this register in the emitted PTX (made unique if taken). */
    public U64 named(String name) {
        rename(name);
        return this;
    }
}
