package io.minference.llama.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Converts whole blocks of one ggml tensor type to F32. Source bytes are little-endian, as GGUF stores them;
 * destination floats are in the host's order, as {@link io.minference.runtime.Tensor} reads them.
 */
public interface Dequantizer {
    ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    ValueLayout.OfFloat HOST_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /**
     * Converts {@code blocks} blocks that start at byte {@code srcOffset} of {@code src} into the floats that start
     * at element {@code dstIndex} of {@code dst}.
     */
    void dequantize(MemorySegment src, long srcOffset, MemorySegment dst, long dstIndex, long blocks);

    /** The dequantizer of {@code type}, or null when it cannot be converted here. */
    static Dequantizer forType(GgmlType type) {
        return switch (type) {
            case F32 -> new F32Copy();
            case F16 -> new F16Dequantizer();
            case BF16 -> new Bf16Dequantizer();
            case Q8_0 -> new Q8_0Dequantizer();
            case Q4_0 -> new Q4_0Dequantizer();
            case Q4_K -> new Q4_KDequantizer();
            case Q6_K -> new Q6_KDequantizer();
            default -> null;
        };
    }

    /** Reads the IEEE half-precision float at byte {@code offset}. */
    static float half(MemorySegment src, long offset) {
        return Float.float16ToFloat(src.get(LE_SHORT, offset));
    }

    static int unsignedByte(MemorySegment src, long offset) {
        return src.get(ValueLayout.JAVA_BYTE, offset) & 0xFF;
    }

    static int signedByte(MemorySegment src, long offset) {
        return src.get(ValueLayout.JAVA_BYTE, offset);
    }
}
