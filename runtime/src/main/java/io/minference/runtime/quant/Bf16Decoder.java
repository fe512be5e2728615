package io.minference.runtime.quant;

import java.lang.foreign.MemorySegment;

/** bfloat16 to F32 (exact): bfloat16 is the top half of an F32's bits. */
final class Bf16Decoder implements BlockDecoder {
    @Override
    public void decode(MemorySegment src, long srcOffset, MemorySegment dst, long dstIndex, long blocks) {
        for (long i = 0; i < blocks; i++) {
            int bits = (src.get(LE_SHORT, srcOffset + 2 * i) & 0xFFFF) << 16;
            dst.setAtIndex(HOST_FLOAT, dstIndex + i, Float.intBitsToFloat(bits));
        }
    }
}
