package io.minference.sparse.gpu;

import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * The offsets of a batch's compact {@link DeviceSparseIndex}, on the device: each slot's first range (kind 0) or
 * column (kind 1) is the sum of what the batch's earlier slots need, as {@link IndexAssembly}'s counting pass left
 * the needs. The host reads back only the heads' sums ({@link #HEAD_WORDS} words a head, which the counting pass
 * also adds up) to size its batches, instead of every slot's needs (4 MB each way at a million tokens, and a pass
 * of the host over them while the device waited).
 * <p>Block (h, kind) takes the batch's head h: its base is the sums of the batch's heads before it, read from
 * {@code headTotals}; then a block scan over its query blocks writes {@code offsets[h * queryBlocks + b]}, and the
 * batch's last head writes the total after its last slot. Parameters: {@code needs} (u32: the estimate's range
 * needs, then its column needs, {@code estimateSlots} each), {@code headTotals} (u32, {@link #HEAD_WORDS} per head of
 * the estimate: range sum, column sum, range maximum, column maximum), {@code rangeOffsets, columnOffsets} (the
 * index's arrays, written), {@code queryBlocks, estimateSlots, firstSlot} (u32: the batch's head h is the estimate's
 * head firstSlot + h). Launch: grid (heads of the batch, 2), {@link #THREADS} threads.
 */
public record SlotOffsets() implements KernelDefinition {
    public static final int THREADS = 256;
    /** Words of {@code headTotals} per head: the sums of its range and column needs, then their maxima. */
    public static final int HEAD_WORDS = 4;

    @Override
    public String entryName() {
        return "sparse_index_offsets";
    }

    @Override
    public void define(KernelBuilder k) {
        U64 needs = k.pointerParam("needs");
        U64 headTotals = k.pointerParam("headTotals");
        U64 rangeOffsets = k.pointerParam("rangeOffsets");
        U64 columnOffsets = k.pointerParam("columnOffsets");
        U32 queryBlocks = k.u32Param("queryBlocks");
        U32 estimateSlots = k.u32Param("estimateSlots");
        U32 firstSlot = k.u32Param("firstSlot");
        k.maxThreadsPerBlock(THREADS);
        U32 scratch = k.sharedArray("scan", 32 * 4);
        U32 tid = k.threadIdx();
        U32 head = k.blockIdx();
        U32 kind = k.blockIdx(Axis.Y);
        U32 estimateHead = k.add(firstSlot, head).named("estimateHead");
        U64 offsets = k.select(k.eq(kind, 0), rangeOffsets, columnOffsets);
        // the batch's heads before this one: at most a layer's heads, each sum read once per block
        U32 base = k.var("base", k.u32(0));
        k.loop(firstSlot, estimateHead, 1, h -> k.set(base, k.add(base,
                k.loadU32(k.element(headTotals, k.add(k.mul(h, HEAD_WORDS), kind), 4)))));
        U64 headNeeds = k.pointer(needs, k.add(k.mul(kind, estimateSlots), k.mul(estimateHead, queryBlocks)), 4);
        U64 headOffsets = k.pointer(offsets, k.mul(head, queryBlocks), 4);
        U32 running = k.var("running", base);
        k.loop(k.u32(0), queryBlocks, THREADS, first -> {
            U32 b = k.add(first, tid);
            U32 need = k.var("need", k.u32(0));
            k.ifThen(k.lt(b, queryBlocks), () -> k.set(need, k.loadU32(k.element(headNeeds, b, 4))));
            EstimationOps.Scan scan = EstimationOps.exclusiveScan(k, need, scratch, tid, THREADS / 32);
            k.ifThen(k.lt(b, queryBlocks), () -> k.store(k.element(headOffsets, b, 4), k.add(running,
                    scan.prefix())));
            k.set(running, k.add(running, scan.total()));
        });
        k.ifThen(k.and(k.eq(tid, 0), k.eq(head, k.sub(k.gridDim(), 1))),
                () -> k.store(k.element(offsets, k.mul(k.gridDim(), queryBlocks), 4), running));
    }
}
