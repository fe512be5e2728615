package io.minference.kernels.dequant;

import io.minference.runtime.DType;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.quant.BlockDecoder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The CPU twin of {@link DequantizeToBf16}: rows of raw blocks decoded by the runtime's scalar reference decoder
 * ({@link BlockDecoder}) to f32, then rounded to nearest-even bf16. It writes exactly what the kernel writes: the
 * first {@code width} columns of each destination row; the rest of the row is left alone.
 */
public final class CpuDequantizeToBf16 {
    private CpuDequantizeToBf16() {
    }

    /**
     * Decodes {@code rows} rows of {@code width} elements of {@code type}, stored back to back from byte 0 of
     * {@code blocks}, into the bf16 matrix {@code out} whose rows are {@code rowStride} elements apart, starting at
     * element 0.
     */
    public static void dequantize(DType type, MemorySegment blocks, long rows, long width, MemorySegment out,
                                  long rowStride) {
        DequantizeToBf16.checkShape(type, rows, width, rowStride);
        BlockDecoder decoder = BlockDecoder.forType(type);
        float[] row = new float[Math.toIntExact(width)];
        MemorySegment rowSegment = MemorySegment.ofArray(row);
        long rowBytes = type.byteSize(width);
        for (long r = 0; r < rows; r++) {
            decoder.decode(blocks, r * rowBytes, rowSegment, 0, width / type.blockSize());
            long at = r * rowStride;
            for (int c = 0; c < width; c++) {
                out.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, at + c, BFloat16.fromFloat(row[c]));
            }
        }
    }
}
