package io.minference.llama.gpu;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.quant.BlockDecoder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Host-side packing of weight matrices (F32, or any block type read in place from a model file, decoded a row at a
 * time) into one zero-padded bf16 matrix: row blocks stacked (the fused QKV and gate/up matrices) and columns padded
 * (the down projection over a padded hidden size). Padding is zero, so padded features contribute nothing to any
 * product.
 */
final class Bf16Packing {
    private Bf16Packing() {
    }

    /** The blocks stacked row-wise, block i starting at row {@code rowOffsets[i]}, into a [rows, cols] bf16 matrix. */
    static Tensor stack(long rows, long cols, long[] rowOffsets, Tensor... blocks) {
        Tensor out = Tensor.allocate(DType.BF16, rows, cols);
        out.data().fill((byte) 0);
        for (int b = 0; b < blocks.length; b++) {
            Tensor src = blocks[b];
            long srcRows = src.dim(0), srcCols = src.rank() == 2 ? src.dim(1) : 1;
            BlockDecoder decoder = BlockDecoder.forType(src.dtype());
            if (decoder == null || rowOffsets[b] + srcRows > rows || srcCols > cols) {
                throw new IllegalArgumentException("cannot pack " + src + " at row " + rowOffsets[b] + " into bf16 ["
                        + rows + ", " + cols + "]");
            }
            long srcRowBytes = src.dtype().byteSize(srcCols);
            long blocksPerRow = srcCols / src.dtype().blockSize();
            float[] row = new float[Math.toIntExact(srcCols)];
            MemorySegment rowSegment = MemorySegment.ofArray(row);
            MemorySegment to = out.data();
            for (long r = 0; r < srcRows; r++) {
                decoder.decode(src.data(), r * srcRowBytes, rowSegment, 0, blocksPerRow);
                long dstRow = (rowOffsets[b] + r) * cols;
                for (int c = 0; c < row.length; c++) {
                    to.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, dstRow + c, BFloat16.fromFloat(row[c]));
                }
            }
        }
        return out;
    }

    /** One matrix, its columns padded to {@code cols}. */
    static Tensor padded(Tensor src, long cols) {
        return stack(src.dim(0), cols, new long[] {0}, src);
    }
}
