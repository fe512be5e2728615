package io.minference.ptx.dsl;

/** Two 16-bit floats packed in a {@code .b32} register: element 0 in the low half, element 1 in the high half. */
public abstract sealed class PackedHalf2 extends B32 permits Bf16x2, F16x2 {
    PackedHalf2(String hint) {
        super(hint);
    }

    /** The element type as mma and cvt spell it: {@code bf16} or {@code f16}. */
    public abstract String elementType();
}
