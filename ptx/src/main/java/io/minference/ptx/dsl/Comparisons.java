package io.minference.ptx.dsl;

/** Compares that set predicates, predicate logic and selects. Integer compares follow the type's signedness. */
public interface Comparisons extends Values {
    private <R extends Reg> Pred compare(String cmp, R a, R b) {
        Pred p = emitter().declare(new Pred("p"));
        emitter().instruction("setp." + cmp + "." + a.type().ptx(), p, a, b);
        return p;
    }

    default <R extends Reg & Numeric<R>> Pred lt(R a, R b) {
        return compare("lt", a, b);
    }

    default <R extends Reg & Numeric<R>> Pred le(R a, R b) {
        return compare("le", a, b);
    }

    default <R extends Reg & Numeric<R>> Pred gt(R a, R b) {
        return compare("gt", a, b);
    }

    default <R extends Reg & Numeric<R>> Pred ge(R a, R b) {
        return compare("ge", a, b);
    }

    default <R extends Reg & Numeric<R>> Pred eq(R a, R b) {
        return compare("eq", a, b);
    }

    default <R extends Reg & Numeric<R>> Pred ne(R a, R b) {
        return compare("ne", a, b);
    }

    default Pred lt(U32 a, long b) {
        return lt(a, u32(b));
    }

    default Pred eq(U32 a, long b) {
        return eq(a, u32(b));
    }

    /** {@code p ? a : b}. */
    default <R extends Reg> R select(Pred p, R ifTrue, R ifFalse) {
        if (ifTrue.type() != ifFalse.type() || ifTrue.type() == RegType.PRED) {
            throw new IllegalArgumentException("select needs two non-predicate values of one type, got ."
                    + ifTrue.type().ptx() + " and ." + ifFalse.type().ptx());
        }
        R d = emitter().like(ifTrue.isConstant() ? ifFalse : ifTrue, "sel");
        emitter().instruction("selp." + ifTrue.type().ptx(), d, ifTrue, ifFalse, p);
        return d;
    }

    default Pred and(Pred a, Pred b) {
        return logic("and.pred", a, b);
    }

    default Pred or(Pred a, Pred b) {
        return logic("or.pred", a, b);
    }

    default Pred not(Pred a) {
        Pred d = emitter().declare(new Pred("p"));
        emitter().instruction("not.pred", d, a);
        return d;
    }

    private Pred logic(String opcode, Pred a, Pred b) {
        Pred d = emitter().declare(new Pred("p"));
        emitter().instruction(opcode, d, a, b);
        return d;
    }
}
