package io.minference.ptx.dsl;

/** Constants, mutable variables and assignment. */
public interface Values {
    /** The emitter every instruction family writes to. */
    Emitter emitter();

    /** An unsigned 32-bit immediate. */
    default U32 u32(long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("u32 constant out of range: " + value);
        }
        return new U32(null, Long.toString(value));
    }

    /** A signed 32-bit immediate. */
    default S32 s32(int value) {
        return new S32(null, Integer.toString(value));
    }

    /** An unsigned 64-bit immediate. */
    default U64 u64(long value) {
        if (value < 0) {
            throw new IllegalArgumentException("u64 constant must not be negative: " + value);
        }
        return new U64(null, Long.toString(value));
    }

    /** A float immediate, written exactly as its bits ({@code 0f3F800000} for 1.0). */
    default F32 f32(float value) {
        return new F32(null, "0f%08X".formatted(Float.floatToRawIntBits(value)));
    }

    /** A 32-bit raw immediate. */
    default B32 b32(int bits) {
        return new B32(null, "0x%08X".formatted(bits));
    }

    /** A new named register holding a copy of {@code initial}; update it with {@link #set}. */
    default <R extends Reg> R var(String name, R initial) {
        R variable = emitter().like(initial, "v");
        variable.rename(name);
        set(variable, initial);
        return variable;
    }

    /** Assigns {@code value} to the variable {@code target}: {@code mov}. */
    default <R extends Reg> void set(R target, R value) {
        if (target.isConstant()) {
            throw new IllegalArgumentException("cannot assign to the constant " + target.literal());
        }
        if (target.type() != value.type()) {
            throw new IllegalArgumentException("cannot assign ." + value.type().ptx() + " to ." + target.type().ptx());
        }
        emitter().instruction("mov." + target.type().ptx(), target, value);
    }
}
