package io.minference.llama.gguf;

import io.minference.runtime.quant.BlockDecoder;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** A quantizer's blocks for some floats, and those blocks read back through the reference decoder. */
final class QuantizerRoundTrip {
    private QuantizerRoundTrip() {
    }

    /** The blocks of {@code x}, written over poison so that a byte left unwritten shows. */
    static byte[] quantize(GgmlType type, float[] x) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocateFrom(ValueLayout.JAVA_FLOAT, x);
            long blocks = x.length / type.blockSize();
            MemorySegment dst = arena.allocate(blocks * type.blockBytes());
            dst.fill((byte) 0x5A);
            Quantizer.forType(type).quantize(src, 0, dst, 0, blocks);
            return dst.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    static float[] dequantize(GgmlType type, byte[] bytes) {
        try (Arena arena = Arena.ofConfined()) {
            long blocks = bytes.length / type.blockBytes();
            MemorySegment dst = arena.allocate(4L * blocks * type.blockSize());
            BlockDecoder.forType(type.dtype()).decode(MemorySegment.ofArray(bytes), 0, dst, 0, blocks);
            return dst.toArray(ValueLayout.JAVA_FLOAT);
        }
    }
}
