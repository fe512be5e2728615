package io.minference.runtime;

/** Element types of tensors, with their size in bytes. */
public enum DType {
    F32(4), F16(2), BF16(2), I32(4), I8(1), U8(1);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    public int byteSize() {
        return byteSize;
    }
}
