package io.minference.llama.gpu;

import io.minference.kernels.dequant.DequantizeToBf16;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.quant.BlockDecoder;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Packing of weight matrices (F32, F16, BF16 or a ggml block type, read in place from a model file) into one
 * zero-padded bf16 matrix: row blocks stacked (the fused QKV and gate/up matrices) and columns padded (the down
 * projection over a padded hidden size). Padding is zero, so padded features contribute nothing to any product.
 *
 * <p>The matrix is produced in order of rows, in chunks through a staging buffer of fixed size, so that packing it
 * takes no host memory in proportion to it. Rows that {@link DequantizeToBf16} expands (every type a model file holds,
 * when the row's width is a multiple of its unit) go as they lie to a {@link WeightStreaming.BlockWriter}, for the
 * device to expand; other rows (an F16 down projection over a hidden size that is not a multiple of 8, say) are
 * converted to bf16 on the host, a row at a time, and go as bytes to a {@link WeightStreaming.Writer}, as do the zero
 * rows between blocks.
 */
final class Bf16Packing {
    private Bf16Packing() {
    }

    /**
     * Packs the blocks stacked row-wise, block i starting at row {@code rowOffsets[i]} (ascending), into a [rows, cols]
     * bf16 matrix, in chunks of at most {@code staging}'s size (at least one row). Every row is written once, in order.
     */
    static void stream(long rows, long cols, long[] rowOffsets, Tensor[] blocks, MemorySegment staging,
                       WeightStreaming.Writer bytes, WeightStreaming.BlockWriter raw) {
        long end = 0;
        for (int b = 0; b < blocks.length; b++) {
            Tensor src = blocks[b];
            long srcRows = src.dim(0), srcCols = src.rank() == 2 ? src.dim(1) : 1;
            if (BlockDecoder.forType(src.dtype()) == null || rowOffsets[b] < end || rowOffsets[b] + srcRows > rows
                    || srcCols > cols) {
                throw new IllegalArgumentException("cannot pack " + src + " at row " + rowOffsets[b] + " into bf16 ["
                        + rows + ", " + cols + "]");
            }
            end = rowOffsets[b] + srcRows;
        }
        long rowBytes = 2 * cols;
        if (staging.byteSize() < rowBytes) { // the zero rows and host rows; rawRows checks its own
            throw new IllegalArgumentException("a staging buffer of " + staging.byteSize() + " bytes cannot hold a"
                    + " row of " + cols + " bf16 values");
        }
        long row = 0;
        for (int b = 0; b < blocks.length; b++) {
            zeroRows(row, rowOffsets[b], cols, staging, bytes);
            Tensor src = blocks[b];
            if (expandsOnDevice(src, cols)) {
                rawRows(src, rowOffsets[b], staging, raw);
            } else {
                hostRows(src, rowOffsets[b], cols, staging, bytes);
            }
            row = rowOffsets[b] + src.dim(0);
        }
        zeroRows(row, rows, cols, staging, bytes);
    }

    /** True when the rows of {@code src} go as they lie into a matrix {@code cols} wide, for the device to expand. */
    static boolean expandsOnDevice(Tensor src, long cols) {
        DType type = src.dtype();
        return src.rank() == 2 && DequantizeToBf16.expands(type) && src.dim(1) % DequantizeToBf16.unit(type) == 0
                && cols % 8 == 0;
    }

    private static void zeroRows(long from, long to, long cols, MemorySegment staging, WeightStreaming.Writer bytes) {
        long rowBytes = 2 * cols;
        long chunkRows = staging.byteSize() / rowBytes;
        for (long r0 = from; r0 < to; r0 += chunkRows) {
            MemorySegment chunk = staging.asSlice(0, (Math.min(to, r0 + chunkRows) - r0) * rowBytes);
            chunk.fill((byte) 0);
            bytes.write(r0 * rowBytes, chunk);
        }
    }

    /** The rows of {@code src}, copied as they lie into staging, in chunks of whole rows. */
    private static void rawRows(Tensor src, long firstRow, MemorySegment staging, WeightStreaming.BlockWriter raw) {
        long width = src.dim(1);
        long rowBytes = src.dtype().byteSize(width);
        long chunkRows = staging.byteSize() / rowBytes;
        if (chunkRows < 1) {
            throw new IllegalArgumentException("a staging buffer of " + staging.byteSize() + " bytes cannot hold a"
                    + " row of " + width + " " + src.dtype() + " values");
        }
        for (long r0 = 0; r0 < src.dim(0); r0 += chunkRows) {
            long n = Math.min(src.dim(0) - r0, chunkRows);
            MemorySegment chunk = staging.asSlice(0, n * rowBytes);
            MemorySegment.copy(src.data(), r0 * rowBytes, chunk, 0, chunk.byteSize());
            raw.write(firstRow + r0, n, width, src.dtype(), chunk);
        }
    }

    /** The rows of {@code src}, decoded to f32 a row at a time and rounded to bf16, zero-padded to {@code cols}. */
    private static void hostRows(Tensor src, long firstRow, long cols, MemorySegment staging,
                                 WeightStreaming.Writer bytes) {
        DType type = src.dtype();
        long width = src.rank() == 2 ? src.dim(1) : 1;
        long rowBytes = 2 * cols;
        long chunkRows = staging.byteSize() / rowBytes;
        float[] row = new float[Math.toIntExact(width)];
        MemorySegment rowSegment = MemorySegment.ofArray(row);
        for (long r0 = 0; r0 < src.dim(0); r0 += chunkRows) {
            long n = Math.min(src.dim(0) - r0, chunkRows);
            MemorySegment chunk = staging.asSlice(0, n * rowBytes);
            chunk.fill((byte) 0);
            for (long r = 0; r < n; r++) {
                BlockDecoder.forType(type).decode(src.data(), (r0 + r) * type.byteSize(width), rowSegment, 0,
                        width / type.blockSize());
                for (int c = 0; c < width; c++) {
                    chunk.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, r * cols + c, BFloat16.fromFloat(row[c]));
                }
            }
            bytes.write((firstRow + r0) * rowBytes, chunk);
        }
    }

    /** The blocks stacked as {@link #stream} packs them, into a new host tensor (for tests and small matrices). */
    static Tensor stack(long rows, long cols, long[] rowOffsets, Tensor... blocks) {
        Tensor out = Tensor.allocate(DType.BF16, rows, cols);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(Math.max(2 * cols, Math.min(out.byteSize(), 1 << 20)), 16);
            WeightStreaming.Writer copy =
                    (offset, chunk) -> MemorySegment.copy(chunk, 0, out.data(), offset, chunk.byteSize());
            stream(rows, cols, rowOffsets, blocks, staging, copy, WeightStreaming.expandOnHost(cols, copy));
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
