package io.minference.sparse.gpu;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.sparse.SparseIndex;

/**
 * Counts the (query, key) pairs each head of a {@link DeviceSparseIndex} attends, causally: per slot the sum over
 * its rows of {@link SparseIndex#keysAttended}, in the closed form of {@link io.minference.sparse.IndexDensity} (a
 * range's rows ramp up to the range's width, then hold it; a column counts for the rows at or after it), summed per
 * head. This is the density count of a measuring device prefill, made on the device so that only a number per head
 * crosses to the host instead of every index.
 * <p>A slot's count fits a u32 (at most 64 rows of at most 2^26 keys); a head's is summed in u64.
 * <p>Parameters: {@code rangeOffsets, rangeCounts, ranges, columnOffsets, columnCounts, columns} (the index's
 * arrays), {@code keys} (u64 per head of the index, zeroed before the launch), {@code length} (the prompt's tokens).
 * Launch: grid (query blocks, heads of the index), {@link #THREADS} threads. CPU twin: {@link #count}.
 */
public record IndexKeys() implements KernelDefinition {
    public static final int THREADS = 128;

    @Override
    public String entryName() {
        return "sparse_index_keys";
    }

    @Override
    public void define(KernelBuilder k) {
        IndexParams index = IndexParams.declare(k);
        U64 keys = k.pointerParam("keys");
        U32 length = k.u32Param("length");
        k.maxThreadsPerBlock(THREADS);
        U32 scratch = k.sharedArray("warpTotals", 32 * 4);
        U32 tid = k.threadIdx();
        U32 headSlot = k.blockIdx(Axis.Y);
        U32 slot = k.mad(headSlot, k.gridDim(), k.blockIdx()).named("slot");
        U32 lo = k.shl(k.blockIdx(), 6).named("blockStart");
        U32 hi = k.min(k.add(lo, SparseIndex.BLOCK), length).named("blockEnd");
        U32 zero = k.u32(0);
        U32 partial = k.var("slotKeys", zero);
        U32 rangeCount = k.loadU32(k.element(index.rangeCounts(), slot, 4));
        U64 slotRanges = index.slotRanges(k, slot);
        k.loop(tid, rangeCount, THREADS, r -> {
            U64 at = k.add(slotRanges, k.mulWide(r, 8));
            U32 start = k.loadU32(Address.global(at));
            U32 end = k.loadU32(Address.global(at).plus(4));
            U32 last = k.sub(end, 1);
            // rows [rampFrom, rampTo) attend row + 1 - start keys: an arithmetic series
            U32 rampFrom = k.max(lo, start);
            U32 rampTo = k.min(hi, last);
            U32 ramp = k.shr(k.mul(k.sub(rampTo, rampFrom),
                    k.sub(k.add(k.add(rampFrom, rampTo), 1), k.shl(start, 1))), 1);
            k.set(partial, k.add(partial, k.select(k.gt(rampTo, rampFrom), ramp, zero)));
            // rows [fullFrom, hi) attend the whole range
            U32 fullFrom = k.max(lo, last);
            U32 full = k.mul(k.sub(hi, fullFrom), k.sub(end, start));
            k.set(partial, k.add(partial, k.select(k.gt(hi, fullFrom), full, zero)));
        });
        U32 columnCount = k.loadU32(k.element(index.columnCounts(), slot, 4));
        U64 slotColumns = index.slotColumns(k, slot);
        k.loop(tid, columnCount, THREADS, c -> {
            U32 from = k.max(lo, k.loadU32(Address.global(k.add(slotColumns, k.mulWide(c, 4)))));
            k.set(partial, k.add(partial, k.select(k.gt(hi, from), k.sub(hi, from), zero)));
        });
        EstimationOps.Scan sum = EstimationOps.exclusiveScan(k, partial, scratch, tid, THREADS / 32);
        k.ifThen(k.eq(tid, 0), () -> k.reduceAdd(k.element(keys, headSlot, 8), k.toU64(sum.total())));
    }

    /**
     * The kernel's count on the host, in its u32 arithmetic per slot: the keys each head slot of {@code index}
     * attends over all its rows.
     */
    public static long[] count(SparseIndex index) {
        long[] keys = new long[index.heads()];
        for (int h = 0; h < index.heads(); h++) {
            for (int b = 0; b < index.queryBlocks(); b++) {
                int lo = b * SparseIndex.BLOCK;
                int hi = index.blockEnd(b);
                int slotKeys = 0;
                for (int r = 0; r < index.rangeCount(h, b); r++) {
                    int start = index.rangeStart(h, b, r), end = index.rangeEnd(h, b, r);
                    int rampFrom = Math.max(lo, start), rampTo = Math.min(hi, end - 1);
                    if (rampTo > rampFrom) slotKeys += (rampTo - rampFrom) * (rampFrom + rampTo + 1 - 2 * start) >>> 1;
                    int fullFrom = Math.max(lo, end - 1);
                    if (hi > fullFrom) slotKeys += (hi - fullFrom) * (end - start);
                }
                for (int c = 0; c < index.columnCount(h, b); c++) {
                    int from = Math.max(lo, index.column(h, b, c));
                    if (hi > from) slotKeys += hi - from;
                }
                keys[h] += Integer.toUnsignedLong(slotKeys);
            }
        }
        return keys;
    }
}
