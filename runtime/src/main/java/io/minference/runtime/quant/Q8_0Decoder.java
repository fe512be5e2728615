package io.minference.runtime.quant;

import java.lang.foreign.MemorySegment;

/**
 * Q8_0: blocks of 32 elements in 34 bytes: an F16 scale d, then 32 signed bytes q; element i = d * q[i].
 */
final class Q8_0Decoder implements BlockDecoder {
    static final int BLOCK = 32;
    static final int BYTES = 34;

    @Override
    public void decode(MemorySegment src, long srcOffset, MemorySegment dst, long dstIndex, long blocks) {
        for (long b = 0; b < blocks; b++) {
            long block = srcOffset + b * BYTES;
            long out = dstIndex + b * BLOCK;
            float d = BlockDecoder.half(src, block);
            for (int i = 0; i < BLOCK; i++) {
                dst.setAtIndex(HOST_FLOAT, out + i, d * BlockDecoder.signedByte(src, block + 2 + i));
            }
        }
    }
}
