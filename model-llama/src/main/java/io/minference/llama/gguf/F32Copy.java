package io.minference.llama.gguf;

import java.lang.foreign.MemorySegment;

/** F32: a copy (and a byte swap on a big-endian host). */
final class F32Copy implements Dequantizer {
    @Override
    public void dequantize(MemorySegment src, long srcOffset, MemorySegment dst, long dstIndex, long blocks) {
        MemorySegment.copy(src, LE_FLOAT, srcOffset, dst, HOST_FLOAT, dstIndex * Float.BYTES, blocks);
    }
}
