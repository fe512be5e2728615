package io.minference.ptx.dsl;

/** The PTX register types the DSL declares; packed f16x2/bf16x2 values live in {@link #B32} registers. */
public enum RegType {
    PRED("pred", 1),
    B16("b16", 16),
    B32("b32", 32),
    B64("b64", 64),
    U32("u32", 32),
    S32("s32", 32),
    U64("u64", 64),
    F32("f32", 32);

    private final String ptx;
    private final int bits;

    RegType(String ptx, int bits) {
        this.ptx = ptx;
        this.bits = bits;
    }

    /** The type suffix as PTX writes it, without the dot: {@code u32}. */
    public String ptx() {
        return ptx;
    }

    /** The width in bits (1 for predicates). */
    public int bits() {
        return bits;
    }

    /** The bit-size type of the same width, for bitwise instructions and moves: {@code b32} for {@code f32}. */
    String bitsSuffix() {
        return switch (bits) {
            case 16 -> "b16";
            case 32 -> "b32";
            case 64 -> "b64";
            default -> throw new IllegalArgumentException("no bit-size type for ." + ptx);
        };
    }

    /** The suffix for right shifts and integer compares: signed types keep their sign. */
    String integerSuffix() {
        return this == B32 || this == B64 || this == B16 ? bitsSuffix() : ptx;
    }
}
