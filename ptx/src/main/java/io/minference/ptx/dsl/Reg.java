package io.minference.ptx.dsl;

import java.util.regex.Pattern;

/**
 * A typed PTX operand: a register the kernel declares, or an immediate constant. Register names are chosen when
 * the module is rendered, from the hint ({@link #named}) made unique, so PTX reads {@code %sum}, {@code %row_1}.
 * Operations never mutate their operands; a value that changes (a loop-carried sum) is a variable made with
 * {@link KernelBuilder#var} and updated with {@link KernelBuilder#set}.
 */
public abstract sealed class Reg permits Pred, B16, B32, B64, U32, S32, U64, F32 {
    private static final Pattern HINT = Pattern.compile("[A-Za-z][A-Za-z0-9_]*");

    private final RegType type;
    private final String literal;
    private String hint;

    Reg(RegType type, String hint, String literal) {
        this.type = type;
        this.hint = hint;
        this.literal = literal;
    }

    /** The PTX register type. */
    public RegType type() {
        return type;
    }

    /** True for an immediate constant, which can be read but never written. */
    public boolean isConstant() {
        return literal != null;
    }

    String literal() {
        return literal;
    }

    String hint() {
        return hint;
    }

    /** A fresh register of the same Java class (and so the same PTX type). */
    abstract Reg fresh(String hint);

    /** Renames this register in the emitted PTX. */
    void rename(String name) {
        if (!HINT.matcher(name).matches()) {
            throw new IllegalArgumentException("register name '" + name + "' is not a PTX identifier "
                    + "(a letter, then letters, digits or '_')");
        }
        if (isConstant()) {
            throw new IllegalArgumentException("cannot name the constant " + literal + "; use KernelBuilder.var");
        }
        this.hint = name;
    }

    @Override
    public String toString() {
        return isConstant() ? literal : "%" + hint + " (." + type.ptx() + ")";
    }
}
