package io.minference.kernels.dequant;

import io.minference.runtime.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * Random rows of blocks: every byte random, except the f16 scale fields, which are random finite halves (subnormals
 * and zero included; no infinity or NaN, whose bf16 payloads the host and device would spell differently). Rows of a
 * plain type (F16, BF16, F32) are random finite values: the top bit of each exponent cleared.
 */
final class RandomBlocks {
    private RandomBlocks() {
    }

    /** Byte offsets of the f16 fields within one block of {@code type}. */
    static int[] halfFields(DType type) {
        return switch (type) {
            case Q8_0, Q4_0, Q5_0 -> new int[] {0};
            case Q4_K, Q5_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            default -> throw new IllegalArgumentException("no block layout for " + type);
        };
    }

    /** {@code rows} rows of {@code width} elements of {@code type}, back to back, in a heap segment. */
    static MemorySegment of(DType type, long rows, long width, SplittableRandom random) {
        byte[] bytes = new byte[Math.toIntExact(rows * type.byteSize(width))];
        for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) random.nextInt();
        MemorySegment blocks = MemorySegment.ofArray(bytes);
        if (!type.isBlockType()) {
            int size = type.byteSize();
            for (int i = size - 1; i < bytes.length; i += size) bytes[i] &= (byte) ~0x40; // little-endian top byte
            return blocks;
        }
        ValueLayout.OfShort le = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        for (long b = 0; b < bytes.length; b += type.blockBytes()) {
            for (int field : halfFields(type)) {
                int bits = random.nextInt(1 << 16);
                if (((bits >>> 10) & 0x1F) == 0x1F) bits ^= 1 << 14; // exponent all ones: make it finite
                blocks.set(le, b + field, (short) bits);
            }
        }
        return blocks;
    }
}
