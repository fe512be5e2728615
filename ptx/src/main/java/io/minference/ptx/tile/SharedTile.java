package io.minference.ptx.tile;

import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.U32;

/**
 * A {@code rows x cols} tile of 16-bit (or wider) elements in shared memory, {@code byteOffset} bytes into a
 * region whose base address is supplied at each use, so one description serves every pipeline stage. It knows its
 * layout and hands out the per-thread plans that copy into it ({@link TileCopy}) and read fragments out of it
 * ({@link FragmentLoader}).
 *
 * @param rows         tile rows
 * @param cols         tile columns (elements)
 * @param elementBytes bytes per element
 * @param layout       how rows and chunks are placed
 * @param byteOffset   where the tile starts within its shared region
 */
public record SharedTile(int rows, int cols, int elementBytes, TileLayout layout, int byteOffset) {
    public SharedTile {
        if (rows <= 0 || cols <= 0 || (cols * elementBytes) % 16 != 0) {
            throw new IllegalArgumentException("a tile needs rows of a multiple of 16 bytes, got " + rows + "x" + cols
                    + " of " + elementBytes + "-byte elements");
        }
        if (layout instanceof TileLayout.Swizzled && (cols * elementBytes) % 128 != 0) {
            throw new IllegalArgumentException("a swizzled tile needs rows of a multiple of 128 bytes, got "
                    + cols * elementBytes);
        }
        if (byteOffset % 16 != 0) {
            throw new IllegalArgumentException("tile offset must be 16-byte aligned, got " + byteOffset);
        }
    }

    /** Bytes in one row of elements. */
    public int rowBytes() {
        return cols * elementBytes;
    }

    /** 16-byte chunks per row. */
    public int chunksPerRow() {
        return rowBytes() / 16;
    }

    /** Bytes the tile occupies, padding included. */
    public int bytes() {
        return rows * layout.rowStride(rowBytes());
    }

    /** The byte offset (from the region base) of chunk {@code chunk} of row {@code row}. */
    public int offset(int row, int chunk) {
        return byteOffset + layout.offset(row, chunk, rowBytes());
    }

    /** The same tile placed right after this one. */
    public SharedTile following(int rows, int cols) {
        return new SharedTile(rows, cols, elementBytes, layout, byteOffset + bytes());
    }

    /**
     * Emits the byte offset of chunk {@code chunk} of row {@code row} for runtime row and chunk, excluding
     * {@link #byteOffset}.
     */
    U32 offset(KernelBuilder k, U32 row, U32 chunk) {
        U32 rowStart = k.mul(row, layout.rowStride(rowBytes()));
        U32 stored = layout instanceof TileLayout.Swizzled ? k.xor(chunk, k.and(row, 7)) : chunk;
        return k.add(rowStart, k.shl(stored, 4));
    }
}
