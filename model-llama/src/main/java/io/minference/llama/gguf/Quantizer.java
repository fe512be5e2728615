package io.minference.llama.gguf;

import java.lang.foreign.MemorySegment;

/**
 * Converts F32 values to whole blocks of one ggml tensor type: the inverse of {@link io.minference.runtime.quant.BlockDecoder}. Source floats are
 * in the host's order, as {@link io.minference.runtime.Tensor} holds them; destination bytes are little-endian, as
 * GGUF stores them. A new type is added here and in {@link #forType}; {@link GgufQuantization} then writes whole
 * model files of it.
 */
public interface Quantizer {
    /**
     * Converts the {@code blocks · blockSize} floats that start at element {@code srcIndex} of {@code src} into the
     * blocks that start at byte {@code dstOffset} of {@code dst}.
     */
    void quantize(MemorySegment src, long srcIndex, MemorySegment dst, long dstOffset, long blocks);

    /** The quantizer of {@code type}, or null when values cannot be converted to it here. */
    static Quantizer forType(GgmlType type) {
        return switch (type) {
            case Q8_0 -> new Q8_0Quantizer();
            case Q4_0 -> new Q4_0Quantizer();
            default -> null;
        };
    }

    /** ggml's rounding (C's roundf): halves go away from zero, where Math.round takes them upwards. */
    static int roundHalfAway(float x) {
        return x >= 0 ? (int) (x + 0.5f) : -(int) (-x + 0.5f);
    }
}
