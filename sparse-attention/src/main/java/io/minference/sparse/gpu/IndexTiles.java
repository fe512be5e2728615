package io.minference.sparse.gpu;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * Counts the key tiles {@link SparseFlashPrefill} will compute for each head of a {@link DeviceSparseIndex}: per
 * slot, {@code ceil((end - start) / 64)} per range plus {@code ceil(columns / 64)}, summed per head (the count
 * {@link io.minference.sparse.SparseIndex#tiles(int)} gives on the host), so that the host can apply
 * {@link io.minference.sparse.DenseFallback} with one small read-back.
 * <p>Parameters: {@code rangeOffsets, rangeCounts, ranges, columnCounts} (the index's arrays), {@code tiles} (u32
 * per head of the index, zeroed before the launch). Launch: grid (query blocks, heads of the index),
 * {@link #THREADS} threads.
 */
public record IndexTiles() implements KernelDefinition {
    public static final int THREADS = 128;

    @Override
    public String entryName() {
        return "sparse_index_tiles";
    }

    @Override
    public void define(KernelBuilder k) {
        U64 rangeOffsets = k.pointerParam("rangeOffsets");
        U64 rangeCounts = k.pointerParam("rangeCounts");
        U64 ranges = k.pointerParam("ranges");
        U64 columnCounts = k.pointerParam("columnCounts");
        U64 tiles = k.pointerParam("tiles");
        k.maxThreadsPerBlock(THREADS);
        U32 scratch = k.sharedArray("warpTotals", 32 * 4);
        U32 tid = k.threadIdx();
        U32 headSlot = k.blockIdx(Axis.Y);
        U32 slot = k.mad(headSlot, k.gridDim(), k.blockIdx()).named("slot");
        U32 rangeCount = k.loadU32(k.element(rangeCounts, slot, 4));
        U64 slotRanges = k.add(ranges, k.mulWide(k.loadU32(k.element(rangeOffsets, slot, 4)), 8));
        U32 partial = k.var("rangeTiles", k.u32(0));
        k.loop(tid, rangeCount, THREADS, r -> {
            U64 at = k.add(slotRanges, k.mulWide(r, 8));
            U32 start = k.loadU32(Address.global(at));
            U32 end = k.loadU32(Address.global(at).plus(4));
            k.set(partial, k.add(partial, k.shr(k.add(k.sub(end, start), 63), 6)));
        });
        EstimationOps.Scan sum = EstimationOps.exclusiveScan(k, partial, scratch, tid, THREADS / 32);
        k.ifThen(k.eq(tid, 0), () -> {
            U32 columns = k.loadU32(k.element(columnCounts, slot, 4));
            k.reduceAdd(k.element(tiles, headSlot, 4), k.add(sum.total(), k.shr(k.add(columns, 63), 6)));
        });
    }
}
