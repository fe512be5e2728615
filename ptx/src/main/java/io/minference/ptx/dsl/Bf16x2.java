package io.minference.ptx.dsl;

/** Two bfloat16 values in one {@code .b32} register (low half first), as mma and ldmatrix use them. */
public final class Bf16x2 extends PackedHalf2 {
    Bf16x2(String hint) {
        super(hint);
    }

    @Override
    Bf16x2 fresh(String hint) {
        return new Bf16x2(hint);
    }

    @Override
    public String elementType() {
        return "bf16";
    }

    @Override
    public Bf16x2 named(String name) {
        rename(name);
        return this;
    }
}
