package io.minference.runtime;

/**
 * Element types of tensors. Plain types hold one element in {@link #byteSize()} bytes; block types (the ggml
 * quantizations that model files carry) hold {@link #blockSize()} elements in {@link #blockBytes()} bytes, so a
 * tensor of a block type has a last dimension that is a multiple of the block size and is sized with
 * {@link #byteSize(long)}.
 */
public enum DType {
    F32(1, 4), F16(1, 2), BF16(1, 2), I32(1, 4), I8(1, 1), U8(1, 1),
    /** 32 elements: an F16 scale and 32 signed bytes. */
    Q8_0(32, 34),
    /** 32 elements: an F16 scale and 16 bytes of 4-bit quants offset by 8. */
    Q4_0(32, 18),
    /** 32 elements: an F16 scale, 32 fifth bits, 16 bytes of low nibbles; quants offset by 16. */
    Q5_0(32, 22),
    /** 256 elements: F16 scale and min, eight 6-bit sub-block scales and mins, 128 bytes of 4-bit quants. */
    Q4_K(256, 144),
    /** 256 elements: as Q4_K, with 32 bytes of fifth bits. */
    Q5_K(256, 176),
    /** 256 elements: 4 + 2 bit quants offset by 32, sixteen signed 8-bit scales, an F16 scale. */
    Q6_K(256, 210);

    private final int blockSize;
    private final int blockBytes;

    DType(int blockSize, int blockBytes) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** Bytes per element of a plain type; a block type has no whole number of bytes per element. */
    public int byteSize() {
        if (blockSize != 1) throw new IllegalStateException(this + " is a block type: size it with byteSize(elements)");
        return blockBytes;
    }

    /** Elements per block: 1 for plain types. */
    public int blockSize() {
        return blockSize;
    }

    public int blockBytes() {
        return blockBytes;
    }

    /** Whether elements come in blocks of more than one (a quantized type). */
    public boolean isBlockType() {
        return blockSize != 1;
    }

    /** Bytes that {@code elements} elements take; for a block type, {@code elements} must fill whole blocks. */
    public long byteSize(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(elements + " elements do not fill whole " + this + " blocks of "
                    + blockSize);
        }
        return Math.multiplyExact(elements / blockSize, (long) blockBytes);
    }
}
