package io.minference.runtime.quant;

import java.lang.foreign.MemorySegment;

/** F32: a copy (and a byte swap on a big-endian host). */
final class F32Decoder implements BlockDecoder {
    @Override
    public void decode(MemorySegment src, long srcOffset, MemorySegment dst, long dstIndex, long blocks) {
        MemorySegment.copy(src, LE_FLOAT, srcOffset, dst, HOST_FLOAT, dstIndex * Float.BYTES, blocks);
    }
}
