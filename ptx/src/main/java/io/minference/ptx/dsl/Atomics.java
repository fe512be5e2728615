package io.minference.ptx.dsl;

/** Atomic read-modify-write in global or shared memory; each returns the old value. */
public interface Atomics extends Values {
    private <R extends Reg> R atom(String op, String type, Address at, R value, Reg... more) {
        R old = emitter().like(value, "old");
        Object[] operands = new Object[3 + more.length];
        operands[0] = old;
        operands[1] = at;
        operands[2] = value;
        System.arraycopy(more, 0, operands, 3, more.length);
        emitter().instruction("atom." + at.space().ptx() + "." + op + "." + type, operands);
        return old;
    }

    /** {@code *at += value}; u32, s32, u64 and f32. */
    default <R extends Reg & Numeric<R>> R atomicAdd(Address at, R value) {
        return atom("add", value.type().ptx(), at, value);
    }

    /** {@code *at = max(*at, value)} for integers. */
    default <R extends Reg & Numeric<R> & Integral<R>> R atomicMax(Address at, R value) {
        return atom("max", value.type().ptx(), at, value);
    }

    /** {@code *at = min(*at, value)} for integers. */
    default <R extends Reg & Numeric<R> & Integral<R>> R atomicMin(Address at, R value) {
        return atom("min", value.type().ptx(), at, value);
    }

    /** {@code *at = value}. */
    default B32 atomicExchange(Address at, B32 value) {
        return atom("exch", "b32", at, value);
    }

    /** {@code if (*at == expected) *at = value}. */
    default B32 atomicCompareAndSwap(Address at, B32 expected, B32 value) {
        return atom("cas", "b32", at, expected, value);
    }

    /** {@code *at += value} without returning the old value ({@code red}), cheaper when the result is unused. */
    default <R extends Reg & Numeric<R>> void reduceAdd(Address at, R value) {
        emitter().instruction("red." + at.space().ptx() + ".add." + value.type().ptx(), at, value);
    }

    /** {@code *at = max(*at, value)} for integers, without returning the old value ({@code red}). */
    default <R extends Reg & Numeric<R> & Integral<R>> void reduceMax(Address at, R value) {
        emitter().instruction("red." + at.space().ptx() + ".max." + value.type().ptx(), at, value);
    }
}
