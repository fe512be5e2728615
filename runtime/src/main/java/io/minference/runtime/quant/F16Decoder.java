package io.minference.runtime.quant;

import java.lang.foreign.MemorySegment;

/** IEEE half precision to F32 (exact). */
final class F16Decoder implements BlockDecoder {
    @Override
    public void decode(MemorySegment src, long srcOffset, MemorySegment dst, long dstIndex, long blocks) {
        for (long i = 0; i < blocks; i++) {
            dst.setAtIndex(HOST_FLOAT, dstIndex + i, BlockDecoder.half(src, srcOffset + 2 * i));
        }
    }
}
