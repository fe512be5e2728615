package io.minference.ptx.dsl;

/**
 * Marks the register classes with bitwise operations and shifts.
 *
 * @param <R> the register class itself
 */
public interface Integral<R extends Reg & Integral<R>> {
}
