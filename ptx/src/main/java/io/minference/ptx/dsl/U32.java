package io.minference.ptx.dsl;

/** An unsigned 32-bit integer register ({@code .u32}): indices, sizes, shared-memory addresses. */
public final class U32 extends Reg implements Numeric<U32>, Integral<U32> {
    U32(String hint) {
        super(RegType.U32, hint, null);
    }

    U32(String hint, String literal) {
        super(RegType.U32, hint, literal);
    }

    @Override
    U32 fresh(String hint) {
        return new U32(hint);
    }

    /** Names this register in the emitted PTX (made unique if taken). */
    public U32 named(String name) {
        rename(name);
        return this;
    }
}
