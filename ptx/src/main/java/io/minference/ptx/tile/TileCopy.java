package io.minference.ptx.tile;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

import java.util.ArrayList;
import java.util.List;

/**
 * One thread's share of copying a whole tile from a row-major global matrix into shared memory with 16-byte
 * {@code cp.async}s. Chunk {@code thread + i * threads} (row-major over the tile's chunks) is this thread's i-th;
 * the offsets are computed once, when the plan is made, so each {@link #copy} is address adds and copies.
 */
public final class TileCopy {
    private final SharedTile tile;
    private final List<U32> sharedOffsets = new ArrayList<>();
    private final U64 globalOffset;
    private final U64 globalPassStride;

    /**
     * @param thread         this thread's index in the block
     * @param threads        threads taking part (a multiple of the tile's chunks per row, dividing its chunks)
     * @param globalRowBytes bytes between rows of the global matrix
     */
    public TileCopy(KernelBuilder k, SharedTile tile, U32 thread, int threads, U32 globalRowBytes) {
        int perRow = tile.chunksPerRow();
        int chunks = tile.rows() * perRow;
        if (threads % perRow != 0 || chunks % threads != 0) {
            throw new IllegalArgumentException(threads + " threads cannot split a tile of " + tile.rows() + " rows of "
                    + perRow + " chunks evenly");
        }
        this.tile = tile;
        int rowsPerPass = threads / perRow;
        U32 row = k.div(thread, perRow).named("copyRow");
        U32 chunk = k.rem(thread, perRow).named("copyChunk");
        for (int pass = 0; pass < chunks / threads; pass++) {
            sharedOffsets.add(tile.offset(k, k.add(row, pass * rowsPerPass), chunk).named("copyDst"));
        }
        globalOffset = k.add(k.mulWide(row, globalRowBytes), k.mulWide(chunk, 16)).named("copySrc");
        globalPassStride = k.mulWide(globalRowBytes, rowsPerPass).named("copyStride");
    }

    /** Starts the copies of the tile whose first element is at {@code globalOrigin} into the region at {@code base}. */
    public void copy(KernelBuilder k, U32 base, U64 globalOrigin) {
        U64 source = k.add(globalOrigin, globalOffset);
        for (int pass = 0; pass < sharedOffsets.size(); pass++) {
            if (pass > 0) {
                source = k.add(source, globalPassStride);
            }
            k.copyAsync(Address.shared(k.add(base, sharedOffsets.get(pass))).plus(tile.byteOffset()),
                    Address.global(source), 16);
        }
    }
}
