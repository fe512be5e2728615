package io.minference.llama.gguf;

import io.minference.runtime.quant.BlockDecoder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q4_0 as llama.cpp's reference quantizer writes it (quantize_row_q4_0_ref): per block of 32, m is the element of
 * largest magnitude (sign kept), d = m / −8 stored as F16, and q[i] = min(15, trunc(x[i] / d + 8.5)) with the
 * unrounded d, so that m itself maps to 0 and the other end of the range to 15 or below. Byte j holds q[j] in its low
 * nibble and q[j + 16] in its high nibble. An element comes back within |d|/2 plus F16's relative error of d times
 * |q − 8| ≤ 8 (a clamped element, at most |d| away).
 */
final class Q4_0Quantizer implements Quantizer {
    @Override
    public void quantize(MemorySegment src, long srcIndex, MemorySegment dst, long dstOffset, long blocks) {
        int size = GgmlType.Q4_0.blockSize();
        float[] x = new float[size];
        for (long b = 0; b < blocks; b++) {
            long block = dstOffset + b * GgmlType.Q4_0.blockBytes();
            float absMax = 0;
            float max = 0;
            for (int i = 0; i < size; i++) {
                x[i] = src.getAtIndex(BlockDecoder.HOST_FLOAT, srcIndex + b * size + i);
                if (Math.abs(x[i]) > absMax) {
                    absMax = Math.abs(x[i]);
                    max = x[i];
                }
            }
            float d = max / -8;
            float inverse = d == 0 ? 0 : 1f / d;
            dst.set(BlockDecoder.LE_SHORT, block, Float.floatToFloat16(d));
            for (int j = 0; j < size / 2; j++) {
                int lo = Math.min(15, (int) (x[j] * inverse + 8.5f));
                int hi = Math.min(15, (int) (x[j + size / 2] * inverse + 8.5f));
                dst.set(ValueLayout.JAVA_BYTE, block + 2 + j, (byte) (lo | hi << 4));
            }
        }
    }
}
