package io.minference.llama.gpu;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.quant.BlockDecoder;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Host-side packing of weight matrices (F32, or any block type read in place from a model file, decoded a row at a
 * time) into one zero-padded bf16 matrix: row blocks stacked (the fused QKV and gate/up matrices) and columns padded
 * (the down projection over a padded hidden size). Padding is zero, so padded features contribute nothing to any
 * product.
 *
 * <p>The packed matrix is produced in chunks of whole rows through a staging buffer of fixed size and handed to a
 * {@link WeightStreaming.Writer} (a device upload, say), so that packing a matrix takes no host memory in proportion to it.
 */
final class Bf16Packing {
    private Bf16Packing() {
    }

    /**
     * Packs the blocks stacked row-wise, block i starting at row {@code rowOffsets[i]}, into a [rows, cols] bf16
     * matrix, writing it in order through {@code writer} in chunks of at most {@code staging}'s size (at least one
     * row). Every byte of the matrix is written once.
     */
    static void stream(long rows, long cols, long[] rowOffsets, Tensor[] blocks, MemorySegment staging,
                       WeightStreaming.Writer writer) {
        for (int b = 0; b < blocks.length; b++) {
            Tensor src = blocks[b];
            long srcRows = src.dim(0), srcCols = src.rank() == 2 ? src.dim(1) : 1;
            if (BlockDecoder.forType(src.dtype()) == null || rowOffsets[b] + srcRows > rows || srcCols > cols) {
                throw new IllegalArgumentException("cannot pack " + src + " at row " + rowOffsets[b] + " into bf16 ["
                        + rows + ", " + cols + "]");
            }
        }
        long rowBytes = 2 * cols;
        long chunkRows = staging.byteSize() / rowBytes;
        if (chunkRows < 1) {
            throw new IllegalArgumentException("a staging buffer of " + staging.byteSize() + " bytes cannot hold a"
                    + " row of " + cols + " bf16 values");
        }
        float[] row = new float[Math.toIntExact(cols)];
        MemorySegment rowSegment = MemorySegment.ofArray(row);
        for (long r0 = 0; r0 < rows; r0 += chunkRows) {
            long r1 = Math.min(rows, r0 + chunkRows);
            MemorySegment chunk = staging.asSlice(0, (r1 - r0) * rowBytes);
            chunk.fill((byte) 0);
            for (int b = 0; b < blocks.length; b++) {
                Tensor src = blocks[b];
                long first = Math.max(r0, rowOffsets[b]), last = Math.min(r1, rowOffsets[b] + src.dim(0));
                for (long r = first; r < last; r++) {
                    int width = decodeRow(src, r - rowOffsets[b], rowSegment);
                    long at = (r - r0) * cols;
                    for (int c = 0; c < width; c++) {
                        chunk.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, at + c, BFloat16.fromFloat(row[c]));
                    }
                }
            }
            writer.write(r0 * rowBytes, chunk);
        }
    }

    /** Decodes row {@code r} of {@code src} into {@code row}; returns its width. */
    private static int decodeRow(Tensor src, long r, MemorySegment row) {
        DType type = src.dtype();
        long width = src.rank() == 2 ? src.dim(1) : 1;
        BlockDecoder.forType(type).decode(src.data(), r * type.byteSize(width), row, 0, width / type.blockSize());
        return (int) width;
    }

    /** The blocks stacked as {@link #stream} packs them, into a new host tensor (for tests and small matrices). */
    static Tensor stack(long rows, long cols, long[] rowOffsets, Tensor... blocks) {
        Tensor out = Tensor.allocate(DType.BF16, rows, cols);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(Math.max(2 * cols, Math.min(out.byteSize(), 1 << 20)), 16);
            stream(rows, cols, rowOffsets, blocks, staging,
                    (offset, chunk) -> MemorySegment.copy(chunk, 0, out.data(), offset, chunk.byteSize()));
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    /** One matrix, its columns padded to {@code cols}. */
    static Tensor padded(Tensor src, long cols) {
        return stack(src.dim(0), cols, new long[] {0}, src);
    }
}
