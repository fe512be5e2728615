package io.minference.runtime.quant;

import io.minference.runtime.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Converts whole blocks of one element type to F32, one element at a time, written from the block layouts as ggml
 * defines them. These scalar decoders are the reference: the vectorized kernels that read blocks in place
 * ({@code io.minference.runtime.cpu}) are tested against them. Source bytes are little-endian, as model files store
 * them; destination floats are in the host's order, as {@link io.minference.runtime.Tensor} reads them.
 */
public interface BlockDecoder {
    ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    ValueLayout.OfFloat HOST_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /**
     * Converts {@code blocks} blocks that start at byte {@code srcOffset} of {@code src} into the floats that start
     * at element {@code dstIndex} of {@code dst}.
     */
    void decode(MemorySegment src, long srcOffset, MemorySegment dst, long dstIndex, long blocks);

    /** The decoder of {@code type}, or null for a type that holds no floats (the integer types). */
    static BlockDecoder forType(DType type) {
        return switch (type) {
            case F32 -> new F32Decoder();
            case F16 -> new F16Decoder();
            case BF16 -> new Bf16Decoder();
            case Q8_0 -> new Q8_0Decoder();
            case Q4_0 -> new Q4_0Decoder();
            case Q5_0 -> new Q5_0Decoder();
            case Q4_K -> new Q4_KDecoder(false);
            case Q5_K -> new Q4_KDecoder(true);
            case Q6_K -> new Q6_KDecoder();
            case I32, I8, U8 -> null;
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
