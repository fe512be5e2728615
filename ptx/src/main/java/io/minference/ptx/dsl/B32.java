package io.minference.ptx.dsl;

/**
 * A 32-bit untyped register ({@code .b32}): raw bits, and (through {@link PackedHalf2}) two packed 16-bit floats,
 * since ptxas accepts no {@code .bf16x2} register.
 */
public sealed class B32 extends Reg implements Integral<B32> permits PackedHalf2 {
    B32(String hint) {
        super(RegType.B32, hint, null);
    }

    B32(String hint, String literal) {
        super(RegType.B32, hint, literal);
    }

    @Override
    B32 fresh(String hint) {
        return new B32(hint);
    }

    /** Names this register in the emitted PTX (made unique if taken). */
    public B32 named(String name) {
        rename(name);
        return this;
    }
}
