package io.minference.runtime.quant;

import java.lang.foreign.MemorySegment;

/**
 * Q5_0: blocks of 32 elements in 22 bytes: an F16 scale d, a little-endian uint32 qh of fifth bits, then 16 bytes
 * of low nibbles. Byte j holds element j in its low nibble and element j + 16 in its high nibble; element i's fifth
 * bit is bit i of qh; element = d * (q - 16).
 */
final class Q5_0Decoder implements BlockDecoder {
    static final int BLOCK = 32;
    static final int BYTES = 22;

    @Override
    public void decode(MemorySegment src, long srcOffset, MemorySegment dst, long dstIndex, long blocks) {
        for (long b = 0; b < blocks; b++) {
            long block = srcOffset + b * BYTES;
            long out = dstIndex + b * BLOCK;
            float d = BlockDecoder.half(src, block);
            int qh = src.get(LE_INT, block + 2);
            for (int j = 0; j < BLOCK / 2; j++) {
                int q = BlockDecoder.unsignedByte(src, block + 6 + j);
                int lo = (q & 0xF) | ((qh >>> j) & 1) << 4;
                int hi = (q >>> 4) | ((qh >>> (j + 16)) & 1) << 4;
                dst.setAtIndex(HOST_FLOAT, out + j, (lo - 16) * d);
                dst.setAtIndex(HOST_FLOAT, out + j + BLOCK / 2, (hi - 16) * d);
            }
        }
    }
}
