package io.minference.ptx.dsl;

/** A predicate register ({@code .pred}), the result of a compare; guards branches and selects. */
public final class Pred extends Reg {
    Pred(String hint) {
        super(RegType.PRED, hint, null);
    }

    Pred(String hint, String literal) {
        super(RegType.PRED, hint, literal);
    }

    @Override
    Pred fresh(String hint) {
        return new Pred(hint);
    }

    /** Names this register in the emitted PTX (made unique if taken). */
    public Pred named(String name) {
        rename(name);
        return this;
    }
}
