package io.minference.ptx.tile;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.B16;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.MBarrier;
import io.minference.ptx.dsl.MatrixDescriptor;
import io.minference.ptx.dsl.Reg;
import io.minference.ptx.dsl.TensorMapParam;
import io.minference.ptx.dsl.U32;

/**
 * A {@code rows x width} bf16 tile in shared memory as TMA writes it with 128-byte swizzling and wgmma reads it:
 * {@code width / 64} column blocks, each {@code rows} rows of 128 bytes (64 elements) whose 16-byte chunks are
 * XOR-ed with the row index mod 8. Element {@code (r, c)} lives at
 * {@code (c / 64) * blockBytes + r * 128 + (((c % 64) / 8) ^ (r % 8)) * 16 + (c % 8) * 2} ({@link #byteOffset}).
 * The tile must start on 1024 bytes, where the swizzle pattern starts.
 * <p>The same tile is a K-major wgmma operand when its rows are M or N and its columns K (Q and K in
 * {@code S = Q Kᵀ}: {@link #kMajor}) and an MN-major one when its rows are K and its columns N (V in
 * {@code O += P V}: {@link #mnMajor}).
 *
 * @param address its shared-memory address (1024-byte aligned)
 * @param rows    rows (a multiple of 8)
 * @param width   elements per row (a multiple of 64)
 */
public record WgmmaTile(U32 address, int rows, int width) {
    /** Elements of one column block's row: 128 bytes of bf16. */
    public static final int BLOCK_WIDTH = 64;
    private static final int ROW_BYTES = 128;

    public WgmmaTile {
        checkShape(rows, width);
    }

    /** Rejects a shape no swizzled wgmma tile has, before any kernel is built around it. */
    public static void checkShape(int rows, int width) {
        if (rows < 8 || rows % 8 != 0 || width < BLOCK_WIDTH || width % BLOCK_WIDTH != 0) {
            throw new IllegalArgumentException("a swizzled wgmma tile has rows a multiple of 8 and a width a multiple"
                    + " of 64, got " + rows + "x" + width);
        }
    }

    /** Bytes of one column block. */
    public int blockBytes() {
        return rows * ROW_BYTES;
    }

    /** Bytes of the whole tile. */
    public int bytes() {
        return rows * width * 2;
    }

    /** The byte offset of element {@code (row, column)} within the tile. */
    public int byteOffset(int row, int column) {
        return (column / BLOCK_WIDTH) * blockBytes() + row * ROW_BYTES
                + (((column % BLOCK_WIDTH) / 8) ^ (row % 8)) * 16 + (column % 8) * 2;
    }

    /**
     * Issues the TMA loads that fill the tile (one box of {@code 64 x ... x rows} per column block) from a map whose
     * innermost dimension is the row's elements and whose box is {@code {64, 1, ..., rows}}: {@code outer} are the
     * coordinates after the innermost one (a head, then the first row ...). Completes on {@code barrier}, which
     * must expect {@link #bytes()}.
     */
    public void load(KernelBuilder k, TensorMapParam map, MBarrier barrier, Reg... outer) {
        loadRows(k, map, barrier, 0, rows, outer);
    }

    /**
     * Issues the TMA loads that fill rows {@code [firstRow, firstRow + boxRows)} of the tile from a map whose box is
     * {@code {64, 1, ..., boxRows}} ({@link #load}'s, for a box shorter than the tile): {@code firstRow} a multiple of
     * 8, so that the rows keep the swizzle pattern TMA writes from the address. Completes on {@code barrier}, which
     * must expect {@code boxRows * width * 2} bytes.
     */
    public void loadRows(KernelBuilder k, TensorMapParam map, MBarrier barrier, int firstRow, int boxRows,
                         Reg... outer) {
        loadRows(k, map, barrier, null, firstRow, boxRows, outer);
    }

    /**
     * {@link #load} multicast ({@link io.minference.ptx.dsl.TensorCopy#loadTileMulticast}): the tile lands at this
     * tile's offset in every CTA of the cluster that {@code ctaMask} names, completing on the barrier at
     * {@code barrier}'s offset in each, which must expect {@link #bytes()}.
     */
    public void loadMulticast(KernelBuilder k, TensorMapParam map, MBarrier barrier, B16 ctaMask, Reg... outer) {
        loadRows(k, map, barrier, ctaMask, 0, rows, outer);
    }

    private void loadRows(KernelBuilder k, TensorMapParam map, MBarrier barrier, B16 ctaMask, int firstRow,
                          int boxRows, Reg... outer) {
        if (firstRow % 8 != 0 || boxRows % 8 != 0 || firstRow < 0 || firstRow + boxRows > rows) {
            throw new IllegalArgumentException("rows [" + firstRow + ", " + (firstRow + boxRows) + ") of a "
                    + rows + "-row tile, not on the 8-row swizzle pattern");
        }
        for (int block = 0; block < width / BLOCK_WIDTH; block++) {
            Reg[] coordinates = new Reg[outer.length + 1];
            coordinates[0] = k.u32((long) block * BLOCK_WIDTH);
            System.arraycopy(outer, 0, coordinates, 1, outer.length);
            int offset = block * blockBytes() + firstRow * ROW_BYTES;
            Address destination = Address.shared(offset == 0 ? address : k.add(address, offset));
            if (ctaMask == null) {
                k.loadTile(destination, map, barrier, coordinates);
            } else {
                k.loadTileMulticast(destination, map, barrier, ctaMask, coordinates);
            }
        }
    }

    /** The descriptor of this tile as a K-major operand at its first row: {@link #kMajor} advances it. */
    public MatrixDescriptor kMajorBase(KernelBuilder k) {
        return k.kMajor128(address);
    }

    /**
     * The K-major operand of wgmma k-step {@code kStep} (columns {@code 16 kStep .. +15}) for the rows starting at
     * {@code firstRow} (a multiple of 8): the A of 64 rows, or the B of N rows.
     */
    public MatrixDescriptor kMajor(KernelBuilder k, MatrixDescriptor base, int firstRow, int kStep) {
        return k.advance(base, kMajorOffset(firstRow, kStep));
    }

    /** Where the K-major operand of {@link #kMajor} starts, in bytes from the tile's start (before swizzling). */
    public int kMajorOffset(int firstRow, int kStep) {
        checkStep(kStep, width / 16);
        if (firstRow % 8 != 0 || firstRow < 0 || firstRow >= rows) {
            throw new IllegalArgumentException("an operand starts on a row that is a multiple of 8 inside the tile, not "
                    + firstRow);
        }
        return (kStep * 16 / BLOCK_WIDTH) * blockBytes() + firstRow * ROW_BYTES + (kStep * 16 % BLOCK_WIDTH) * 2;
    }

    /** The descriptor of this tile as an MN-major operand at its first row: {@link #mnMajor} advances it. */
    public MatrixDescriptor mnMajorBase(KernelBuilder k) {
        return k.mnMajor128(address, blockBytes());
    }

    /** The MN-major B of wgmma k-step {@code kStep}: rows {@code 16 kStep .. +15} as K, all {@code width} as N. */
    public MatrixDescriptor mnMajor(KernelBuilder k, MatrixDescriptor base, int kStep) {
        return k.advance(base, mnMajorOffset(kStep));
    }

    /** Where the MN-major operand of {@link #mnMajor} starts, in bytes from the tile's start (before swizzling). */
    public int mnMajorOffset(int kStep) {
        checkStep(kStep, rows / 16);
        return kStep * 16 * ROW_BYTES;
    }

    private static void checkStep(int kStep, int steps) {
        if (kStep < 0 || kStep >= steps) {
            throw new IllegalArgumentException("k-step " + kStep + " is outside the tile's " + steps + " steps");
        }
    }
}
