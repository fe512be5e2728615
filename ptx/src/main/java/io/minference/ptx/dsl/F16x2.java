package io.minference.ptx.dsl;

/** Two IEEE half values in one {@code .b32} register (low half first), as mma and ldmatrix use them. */
public final class F16x2 extends PackedHalf2 {
    F16x2(String hint) {
        super(hint);
    }

    @Override
    F16x2 fresh(String hint) {
        return new F16x2(hint);
    }

    @Override
    public String elementType() {
        return "f16";
    }

    @Override
    public F16x2 named(String name) {
        rename(name);
        return this;
    }
}
