package io.minference.ptx.dsl;

/**
 * A memory operand {@code [base+offset]} in a state space. Global addresses have a {@link U64} base, shared ones a
 * {@link U32} base; the byte offset is folded into the instruction.
 *
 * @param space  where the bytes live
 * @param base   the register holding the base address
 * @param offset a constant byte offset
 */
public record Address(Space space, Reg base, long offset) {
    public Address {
        RegType expected = space == Space.GLOBAL ? RegType.U64 : RegType.U32;
        if (base.type() != expected) {
            throw new IllegalArgumentException(space.ptx() + " addresses need a ." + expected.ptx()
                    + " base register, got ." + base.type().ptx());
        }
    }

    /** A global address held in a 64-bit register. */
    public static Address global(U64 base) {
        return new Address(Space.GLOBAL, base, 0);
    }

    /** A shared-memory address held in a 32-bit register. */
    public static Address shared(U32 base) {
        return new Address(Space.SHARED, base, 0);
    }

    /** The address {@code bytes} further on. */
    public Address plus(long bytes) {
        return new Address(space, base, offset + bytes);
    }
}
