package io.minference.ptx.dsl;

/**
 * Marks the register classes with arithmetic ({@code add}, {@code mul}, compares). The self type makes generic
 * operations insist on one type: {@code add(F32, U64)} does not compile.
 *
 * @param <R> the register class itself
 */
public interface Numeric<R extends Reg & Numeric<R>> {
}
