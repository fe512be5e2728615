package io.minference.llama.gguf;

import java.lang.foreign.MemorySegment;

/** IEEE half precision to F32 (exact). */
final class F16Dequantizer implements Dequantizer {
    @Override
    public void dequantize(MemorySegment src, long srcOffset, MemorySegment dst, long dstIndex, long blocks) {
        for (long i = 0; i < blocks; i++) {
            dst.setAtIndex(HOST_FLOAT, dstIndex + i, Dequantizer.half(src, srcOffset + 2 * i));
        }
    }
}
