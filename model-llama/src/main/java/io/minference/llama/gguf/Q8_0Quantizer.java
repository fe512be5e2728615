package io.minference.llama.gguf;

import io.minference.runtime.quant.BlockDecoder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q8_0 as llama.cpp's reference quantizer writes it (quantize_row_q8_0_ref): per block of 32, d = max|x| / 127 stored
 * as F16, and q[i] = round(x[i] / d) with the unrounded d, halves away from zero. The stored scale is d rounded to
 * F16, so an element comes back within d/2 plus F16's relative error of d (2^-11) times |q| ≤ 127.
 */
final class Q8_0Quantizer implements Quantizer {
    @Override
    public void quantize(MemorySegment src, long srcIndex, MemorySegment dst, long dstOffset, long blocks) {
        float[] x = new float[GgmlType.Q8_0.blockSize()];
        for (long b = 0; b < blocks; b++) {
            long block = dstOffset + b * GgmlType.Q8_0.blockBytes();
            float absMax = 0;
            for (int i = 0; i < x.length; i++) {
                x[i] = src.getAtIndex(BlockDecoder.HOST_FLOAT, srcIndex + b * x.length + i);
                absMax = Math.max(absMax, Math.abs(x[i]));
            }
            float d = absMax / 127f;
            float inverse = d == 0 ? 0 : 1f / d;
            dst.set(BlockDecoder.LE_SHORT, block, Float.floatToFloat16(d));
            for (int i = 0; i < x.length; i++) {
                dst.set(ValueLayout.JAVA_BYTE, block + 2 + i, (byte) Quantizer.roundHalfAway(x[i] * inverse));
            }
        }
    }
}
