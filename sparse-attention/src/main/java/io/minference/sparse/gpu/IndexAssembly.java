package io.minference.sparse.gpu;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * Writes one query block's ranges and columns of a {@link DeviceSparseIndex} for dense, A-shape and vertical-slash
 * heads (block-sparse slots are left to {@link BlockSparseSelect}). Vertical-slash: the key blocks the kept
 * diagonals touch are marked in a shared bitmap, the bitmap's runs become ranges (each word finds its run starts and
 * ends, a block scan numbers them), then the kept columns below the block's end outside the marked blocks are
 * compacted in order.
 * <p>Parameters: {@code params} (int32 {@link HeadParameters}), {@code lists} (u32 kept lists of
 * {@link VerticalSlashSelect}), {@code kept} (u32 counts), {@code rangeCounts, ranges, columnCounts, columns} (the
 * index's arrays), {@code length, maxRanges, maxColumns} (u32). Launch: grid (query blocks, heads of the batch),
 * {@link #THREADS} threads.
 */
public record IndexAssembly() implements KernelDefinition {
    public static final int THREADS = 256;
    /** Bitmap words: key blocks up to 32 times this, so prompts up to 8M tokens. */
    public static final int BITMAP_WORDS = 4096;
    public static final long MAX_LENGTH = 64L * 32 * BITMAP_WORDS;

    @Override
    public String entryName() {
        return "sparse_index_assembly";
    }

    @Override
    public void define(KernelBuilder k) {
        U64 params = k.pointerParam("params");
        U64 lists = k.pointerParam("lists");
        U64 kept = k.pointerParam("kept");
        U64 rangeCounts = k.pointerParam("rangeCounts");
        U64 ranges = k.pointerParam("ranges");
        U64 columnCounts = k.pointerParam("columnCounts");
        U64 columns = k.pointerParam("columns");
        U32 length = k.u32Param("length");
        U32 maxRanges = k.u32Param("maxRanges");
        U32 maxColumns = k.u32Param("maxColumns");
        k.maxThreadsPerBlock(THREADS);
        U32 bitmap = k.sharedArray("keyBlocks", BITMAP_WORDS * 4);
        U32 scratch = k.sharedArray("scan", 32 * 4);
        U32 tid = k.threadIdx();
        U32 b = k.blockIdx();
        U32 slot = k.blockIdx(Axis.Y);
        U32 paramBase = k.mul(slot, HeadParameters.STRIDE);
        U32 code = k.loadU32(k.element(params, paramBase, 4));
        U32 m0 = k.shl(b, 6);
        U32 m1 = k.min(k.add(m0, 64), length).named("m1");
        U32 slotBlock = k.mad(slot, k.gridDim(), b);
        U64 myRanges = k.add(ranges, k.mulWide(slotBlock, k.shl(maxRanges, 3)));
        Address rangeCount = k.element(rangeCounts, slotBlock, 4);
        Address columnCount = k.element(columnCounts, slotBlock, 4);
        Pred first = k.eq(tid, 0);

        k.ifThen(k.and(first, k.eq(code, HeadParameters.DENSE)), () -> {
            k.storeVector(Address.global(myRanges), k.u32(0), m1);
            k.store(rangeCount, k.u32(1));
            k.store(columnCount, k.u32(0));
        });
        k.ifThen(k.and(first, k.eq(code, HeadParameters.A_SHAPE)), () -> {
            U32 sink = k.loadU32(k.element(params, k.add(paramBase, 1), 4));
            U32 local = k.loadU32(k.element(params, k.add(paramBase, 2), 4));
            U32 sinkBlocks = k.min(k.shr(k.add(sink, 63), 6), k.add(b, 1));
            U32 windowStart = k.add(m0, 1);
            U32 localBlock = k.shr(k.select(k.gt(windowStart, local), k.sub(windowStart, local), k.u32(0)), 6);
            k.store(columnCount, k.u32(0));
            k.ifElse(k.ge(sinkBlocks, localBlock), () -> {
                k.storeVector(Address.global(myRanges), k.u32(0), m1);
                k.store(rangeCount, k.u32(1));
            }, () -> k.ifElse(k.gt(sinkBlocks, k.u32(0)), () -> {
                k.storeVector(Address.global(myRanges), k.u32(0), k.shl(sinkBlocks, 6));
                k.storeVector(Address.global(myRanges).plus(8), k.shl(localBlock, 6), m1);
                k.store(rangeCount, k.u32(2));
            }, () -> {
                k.storeVector(Address.global(myRanges), k.shl(localBlock, 6), m1);
                k.store(rangeCount, k.u32(1));
            }));
        });
        k.ifThen(k.eq(code, HeadParameters.VERTICAL_SLASH), () -> verticalSlash(k, lists, kept, columns, length,
                maxRanges, maxColumns, bitmap, scratch, tid, b, slot, m0, m1, slotBlock, myRanges, rangeCount,
                columnCount));
    }

    private static void verticalSlash(KernelBuilder k, U64 lists, U64 kept, U64 columns, U32 length, U32 maxRanges,
                                      U32 maxColumns, U32 bitmap, U32 scratch, U32 tid, U32 b, U32 slot, U32 m0,
                                      U32 m1, U32 slotBlock, U64 myRanges, Address rangeCount, Address columnCount) {
        int warps = THREADS / 32;
        U32 words = k.shr(k.add(b, 32), 5).named("words");
        k.loop(tid, words, THREADS, w -> k.store(k.element(bitmap, w, 4), k.u32(0)));
        k.barrier();

        U64 diagonals = k.pointer(lists, k.mul(k.add(k.shl(slot, 1), k.u32(1)), length), 4);
        U32 diagonalCount = k.loadU32(k.element(kept, k.add(k.shl(slot, 1), k.u32(1)), 4));
        k.loop(tid, diagonalCount, THREADS, idx -> {
            U32 delta = k.loadU32(k.element(diagonals, idx, 4));
            k.ifThen(k.lt(delta, m1), () -> {
                U32 low = k.select(k.gt(m0, delta), k.sub(m0, delta), k.u32(0));
                U32 high = k.sub(k.sub(m1, 1), delta);
                k.loop(k.shr(low, 6), k.add(k.shr(high, 6), 1), 1, c -> EstimationOps.sharedOr(k,
                        k.element(bitmap, k.shr(c, 5), 4), EstimationOps.shiftLeft(k, k.u32(1), k.and(c, 31))));
            });
        });
        k.barrier();

        U32 runs = KeyBlockRuns.write(k, bitmap, words, scratch, tid, THREADS, myRanges, maxRanges, m1);
        k.ifThen(k.eq(tid, 0), () -> k.store(rangeCount, runs));

        U64 vertical = k.pointer(lists, k.mul(k.shl(slot, 1), length), 4);
        U32 columnTotal = k.loadU32(k.element(kept, k.shl(slot, 1), 4));
        U64 myColumns = k.add(columns, k.mulWide(slotBlock, k.shl(maxColumns, 2)));
        U32 columnsBefore = k.var("columnsBefore", k.u32(0));
        U32 base = k.var("columnBase", k.u32(0));
        U32 lastIndex = k.sub(length, 1);
        k.whileLoop(() -> k.and(k.lt(base, columnTotal),
                k.lt(k.loadU32(k.element(vertical, k.min(base, lastIndex), 4)), m1)), () -> {
            U32 idx = k.add(base, tid);
            U32 j = k.var("column", k.u32(0));
            Pred inList = k.lt(idx, columnTotal);
            k.ifThen(inList, () -> k.set(j, k.loadU32(k.element(vertical, idx, 4))));
            U32 block = k.shr(j, 6);
            U32 marked = k.and(EstimationOps.shiftRight(k,
                    k.loadU32(k.element(bitmap, k.shr(block, 5), 4)), k.and(block, 31)), 1);
            Pred keep = k.and(k.and(inList, k.lt(j, m1)), k.eq(marked, 0));
            EstimationOps.Scan scan = EstimationOps.exclusiveScan(k, k.select(keep, k.u32(1), k.u32(0)), scratch,
                    tid, warps);
            U32 position = k.add(columnsBefore, scan.prefix());
            k.ifThen(k.and(keep, k.lt(position, maxColumns)),
                    () -> k.store(Address.global(k.add(myColumns, k.mulWide(position, 4))), j));
            k.set(columnsBefore, k.add(columnsBefore, scan.total()));
            k.set(base, k.add(base, THREADS));
        });
        k.ifThen(k.eq(tid, 0), () -> k.store(columnCount, columnsBefore));
    }
}
