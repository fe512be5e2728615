package io.minference.runtime.quant;

import java.lang.foreign.MemorySegment;

/**
 * Q4_0: blocks of 32 elements in 18 bytes: an F16 scale d, then 16 bytes of 4-bit quants. Byte j holds element j
 * in its low nibble and element j + 16 in its high nibble; element = d * (nibble - 8).
 */
final class Q4_0Decoder implements BlockDecoder {
    static final int BLOCK = 32;
    static final int BYTES = 18;

    @Override
    public void decode(MemorySegment src, long srcOffset, MemorySegment dst, long dstIndex, long blocks) {
        for (long b = 0; b < blocks; b++) {
            long block = srcOffset + b * BYTES;
            long out = dstIndex + b * BLOCK;
            float d = BlockDecoder.half(src, block);
            for (int j = 0; j < BLOCK / 2; j++) {
                int q = BlockDecoder.unsignedByte(src, block + 2 + j);
                dst.setAtIndex(HOST_FLOAT, out + j, ((q & 0xF) - 8) * d);
                dst.setAtIndex(HOST_FLOAT, out + j + BLOCK / 2, ((q >>> 4) - 8) * d);
            }
        }
    }
}
