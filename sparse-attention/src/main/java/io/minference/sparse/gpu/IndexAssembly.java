package io.minference.sparse.gpu;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

import java.util.function.Function;

/**
 * Writes one query block's ranges and columns of a {@link DeviceSparseIndex} for dense, A-shape and vertical-slash
 * heads (block-sparse slots are left to {@link BlockSparseSelect}). Vertical-slash, by the rule of
 * {@link io.minference.sparse.pattern.VerticalSlashIndex}: each kept diagonal δ &lt; m1 covers exactly the keys
 * {@code [max(0, m0 - δ), min(m0 + 64 - δ, m1))}; in ascending δ order these windows move left, and neighbouring
 * crossing diagonals' windows overlap or touch exactly when they are at most 64 apart, so the block's ranges are the
 * head's runs of kept diagonals ({@link VerticalSlashRuns}, found once per head) whose first diagonal crosses the
 * block, a prefix of them (a binary search), in key order from the right: each thread writes its runs' ranges.
 * Then the kept columns below the block's end that no kept diagonal's window covers are compacted in order: a kept
 * diagonal δ &lt; m1 covers column j exactly when {@code m0 - j <= δ <= m0 + 63 - j}, so j is covered when the head's
 * bitmap of kept diagonals ({@link VerticalSlashRuns}') has a bit in that stretch, 64 bits at most, three words read
 * at once. (A binary search in the runs per column before: eleven dependent loads at 1,500 runs, and most of both
 * passes' instructions.) {@code IndexAssemblyEmulationTest} runs this algorithm statement by statement on the CPU
 * against {@link io.minference.sparse.pattern.VerticalSlashIndex} (keep the two in step), and
 * {@code IndexAssemblyPtxEmulationTest} runs the PTX this class emits, both passes, against the same.
 * <p>Two specializations, run one after the other: {@code count} writes what each slot needs into
 * {@code rangeCounts} and {@code columnCounts} (vertical-slash: its runs and leftover columns, found as above
 * without storing them; dense 1; A-shape 1 or 2; block-sparse its bound {@code min(k, (b + 2) / 2)} runs, no
 * columns) and adds them up per head into {@code headTotals} (sums and maxima, {@link SlotOffsets#HEAD_WORDS} words a
 * head, zeroed before the launch), so that each slot can be reserved exactly that in the compact
 * {@link DeviceSparseIndex} ({@link SlotOffsets}) and the host sizes its batches from the heads' sums; the other
 * writes the ranges and columns at the slots' offsets (block-sparse slots are left to {@link BlockSparseSelect}).
 * <p>Parameters: {@code params} (int32 {@link HeadParameters}), {@code lists} (u32 kept lists of
 * {@link VerticalSlashSelect}), {@code kept} (u32 counts), {@code rangeOffsets, rangeCounts, ranges,
 * columnOffsets, columnCounts, columns} (the index's arrays; the counting pass reads none but the counts),
 * {@code runs, runCounts, diagonalBits} (u32, {@link VerticalSlashRuns}'s), {@code headTotals} (u32, the counting
 * pass's; the other reads none), {@code length, firstSlot} (u32: the index's slot h is the estimate's slot
 * firstSlot + h). Launch: grid (query blocks, heads of the index), {@link #THREADS} threads.
 */
public record IndexAssembly(boolean count) implements KernelDefinition {
    public static final int THREADS = 256;
    /** The longest prompt: 8M tokens (block-sparse selection's bitmap of key blocks sets the bound). */
    public static final long MAX_LENGTH = 1L << 23;

    @Override
    public String entryName() {
        return count ? "sparse_index_count" : "sparse_index_assembly";
    }

    @Override
    public void define(KernelBuilder k) {
        U64 params = k.pointerParam("params");
        U64 lists = k.pointerParam("lists");
        U64 kept = k.pointerParam("kept");
        U64 rangeOffsets = k.pointerParam("rangeOffsets");
        U64 rangeCounts = k.pointerParam("rangeCounts");
        U64 ranges = k.pointerParam("ranges");
        U64 columnOffsets = k.pointerParam("columnOffsets");
        U64 columnCounts = k.pointerParam("columnCounts");
        U64 columns = k.pointerParam("columns");
        U64 runs = k.pointerParam("runs");
        U64 runCounts = k.pointerParam("runCounts");
        U64 diagonalBits = k.pointerParam("diagonalBits");
        U64 headTotals = k.pointerParam("headTotals");
        U32 length = k.u32Param("length");
        U32 firstSlot = k.u32Param("firstSlot");
        k.maxThreadsPerBlock(THREADS);
        U32 scratch = k.sharedArray("scan", 32 * 4);
        U32 tid = k.threadIdx();
        U32 b = k.blockIdx();
        U32 slot = k.add(firstSlot, k.blockIdx(Axis.Y)).named("estimateSlot");
        U32 paramBase = k.mul(slot, HeadParameters.STRIDE);
        U32 code = k.loadU32(k.element(params, paramBase, 4));
        U32 m0 = k.shl(b, 6);
        U32 m1 = k.min(k.add(m0, 64), length).named("m1");
        U32 slotBlock = k.mad(k.blockIdx(Axis.Y), k.gridDim(), b).named("indexSlot");
        Address rangeCount = k.element(rangeCounts, slotBlock, 4);
        Address columnCount = k.element(columnCounts, slotBlock, 4);
        Reserved reserved = count ? null : new Reserved(k, rangeOffsets, columnOffsets, ranges, columns, slotBlock);
        Pred first = k.eq(tid, 0);

        k.ifThen(k.and(first, k.eq(code, HeadParameters.DENSE)), () -> {
            if (!count) k.storeVector(Address.global(reserved.ranges()), k.u32(0), m1);
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
                if (!count) k.storeVector(Address.global(reserved.ranges()), k.u32(0), m1);
                k.store(rangeCount, k.u32(1));
            }, () -> k.ifElse(k.gt(sinkBlocks, k.u32(0)), () -> {
                if (!count) {
                    k.storeVector(Address.global(reserved.ranges()), k.u32(0), k.shl(sinkBlocks, 6));
                    k.storeVector(Address.global(reserved.ranges()).plus(8), k.shl(localBlock, 6), m1);
                }
                k.store(rangeCount, k.u32(2));
            }, () -> {
                if (!count) k.storeVector(Address.global(reserved.ranges()), k.shl(localBlock, 6), m1);
                k.store(rangeCount, k.u32(1));
            }));
        });
        if (count) {
            k.ifThen(k.and(first, k.eq(code, HeadParameters.BLOCK_SPARSE)), () -> {
                U32 kind = k.loadU32(k.element(params, k.add(paramBase, 1), 4));
                U32 value = k.loadU32(k.element(params, k.add(paramBase, 2), 4));
                U32 blockRuns = k.shr(k.add(b, 2), 1);
                k.store(rangeCount, k.select(k.eq(kind, HeadParameters.TOP_K), k.min(value, blockRuns), blockRuns));
                k.store(columnCount, k.u32(0));
            });
        }
        k.ifThen(k.eq(code, HeadParameters.VERTICAL_SLASH), () -> verticalSlash(k, new KeptLists(lists, kept, runs,
                runCounts, diagonalBits), length, scratch, tid, slot, m0, m1, reserved, rangeCount, columnCount));
        if (count) {
            // thread 0 wrote both needs, whatever the pattern: the head's sums and maxima
            k.ifThen(first, () -> {
                U32 rangeNeed = k.loadU32(rangeCount);
                U32 columnNeed = k.loadU32(columnCount);
                Address totals = k.element(headTotals, k.mul(slot, SlotOffsets.HEAD_WORDS), 4);
                k.reduceAdd(totals, rangeNeed);
                k.reduceAdd(totals.plus(4), columnNeed);
                k.reduceMax(totals.plus(8), rangeNeed);
                k.reduceMax(totals.plus(12), columnNeed);
            });
        }
    }

    /** Where the writing pass puts slot s's entries, and how many it reserved. */
    private record Reserved(U64 ranges, U32 rangeRoom, U64 columns, U32 columnRoom) {
        Reserved(KernelBuilder k, U64 rangeOffsets, U64 columnOffsets, U64 ranges, U64 columns, U32 slot) {
            this(k, k.loadU32(k.element(rangeOffsets, slot, 4)), k.loadU32(k.element(rangeOffsets, k.add(slot, 1), 4)),
                    k.loadU32(k.element(columnOffsets, slot, 4)),
                    k.loadU32(k.element(columnOffsets, k.add(slot, 1), 4)), ranges, columns);
        }

        private Reserved(KernelBuilder k, U32 rangeAt, U32 rangeEnd, U32 columnAt, U32 columnEnd, U64 ranges,
                         U64 columns) {
            this(k.add(ranges, k.mulWide(rangeAt, 8)), k.sub(rangeEnd, rangeAt), k.add(columns, k.mulWide(columnAt, 4)),
                    k.sub(columnEnd, columnAt));
        }
    }

    /** A vertical-slash slot's kept lists ({@link VerticalSlashSelect}) and its diagonals' runs and bitmap. */
    private record KeptLists(U64 lists, U64 kept, U64 runs, U64 runCounts, U64 diagonalBits) {
    }

    private void verticalSlash(KernelBuilder k, KeptLists keptLists, U32 length, U32 scratch, U32 tid, U32 slot,
                               U32 m0, U32 m1, Reserved reserved, Address rangeCount, Address columnCount) {
        int warps = THREADS / 32;
        U64 lists = keptLists.lists();
        U64 kept = keptLists.kept();
        Runs window = new Runs(k, VerticalSlashRuns.slotRuns(k, keptLists.runs(), slot, length),
                k.loadU32(k.element(keptLists.runCounts(), slot, 4)), m0, m1);
        U64 diagonalBits = VerticalSlashRuns.slotBits(k, keptLists.diagonalBits(), slot, length);

        // the block's ranges are the runs whose first diagonal crosses it (a prefix of the ascending runs), in key
        // order from the right. A run that reaches past the block's end starts at key 0 whether it is cut at its last
        // crossing diagonal or not: the diagonals on either side of m1 are at most 64 apart, so the lower is at or
        // above m0, whose window starts at 0 too
        U32 runs = window.crossing().named("crossingRuns");
        if (count) {
            k.ifThen(k.eq(tid, 0), () -> k.store(rangeCount, runs));
        } else {
            k.loop(tid, runs, THREADS, r -> {
                U32 at = k.sub(k.sub(runs, 1), r);
                k.ifThen(k.lt(at, reserved.rangeRoom()), () -> k.storeVector(Address.global(k.add(reserved.ranges(),
                        k.mulWide(at, 8))), window.start(window.last(r)), window.end(window.first(r))));
            });
            k.ifThen(k.eq(tid, 0), () -> k.store(rangeCount, k.min(runs, reserved.rangeRoom())));
        }

        U64 vertical = k.pointer(lists, k.mul(k.shl(slot, 1), length), 4);
        U32 columnTotal = k.loadU32(k.element(kept, k.shl(slot, 1), 4));
        U32 columnsBefore = k.var("columnsBefore", k.u32(0));
        U32 base = k.var("columnBase", k.u32(0));
        U32 lastIndex = k.sub(length, 1);
        k.whileLoop(() -> k.and(k.lt(base, columnTotal),
                k.lt(k.loadU32(k.element(vertical, k.min(base, lastIndex), 4)), m1)), () -> {
            U32 idx = k.add(base, tid);
            U32 j = k.var("column", k.u32(0));
            Pred inList = k.lt(idx, columnTotal);
            k.ifThen(inList, () -> k.set(j, k.loadU32(k.element(vertical, idx, 4))));
            Pred keep = k.and(k.and(inList, k.lt(j, m1)), k.not(covered(k, diagonalBits, m0, m1, j)));
            EstimationOps.Scan scan = EstimationOps.flagScan(k, keep, scratch, tid, warps);
            if (!count) {
                U32 position = k.add(columnsBefore, scan.prefix());
                k.ifThen(k.and(keep, k.lt(position, reserved.columnRoom())), () -> k.store(
                        Address.global(k.add(reserved.columns(), k.mulWide(position, 4))), j));
            }
            k.set(columnsBefore, k.add(columnsBefore, scan.total()));
            k.set(base, k.add(base, THREADS));
        });
        k.ifThen(k.eq(tid, 0), () -> k.store(columnCount,
                count ? columnsBefore : k.min(columnsBefore, reserved.columnRoom())));
    }

    /**
     * Whether key {@code j < m1} lies in a kept diagonal's window: the slot's bitmap of kept diagonals has a bit in
     * {@code [max(0, m0 - j), min(m0 + 63 - j, m1 - 1)]} (at most 64 bits, so within three words; j &lt; m1 keeps the
     * stretch non-empty). The three words are loaded before any is tested.
     */
    private static Pred covered(KernelBuilder k, U64 diagonalBits, U32 m0, U32 m1, U32 j) {
        U32 low = k.select(k.gt(m0, j), k.sub(m0, j), k.u32(0));
        U32 high = k.min(k.sub(k.add(m0, 63), j), k.sub(m1, 1));
        U32 firstWord = k.shr(low, 5);
        U32 lastWord = k.shr(high, 5);
        U32 first = k.loadU32(k.element(diagonalBits, firstWord, 4));
        U32 middle = k.loadU32(k.element(diagonalBits, k.min(k.add(firstWord, 1), lastWord), 4));
        U32 last = k.loadU32(k.element(diagonalBits, lastWord, 4));
        U32 all = k.u32(0xFFFFFFFFL);
        U32 from = EstimationOps.shiftLeft(k, all, k.and(low, 31));
        U32 to = EstimationOps.shiftRight(k, all, k.sub(k.u32(31), k.and(high, 31)));
        Pred oneWord = k.eq(firstWord, lastWord);
        U32 inFirst = k.and(k.and(first, from), k.select(oneWord, to, all));
        U32 inMiddle = k.select(k.eq(k.sub(lastWord, firstWord), k.u32(2)), middle, k.u32(0));
        U32 inLast = k.select(oneWord, k.u32(0), k.and(last, to));
        return k.ne(k.or(k.or(inFirst, inMiddle), inLast), k.u32(0));
    }

    /**
     * A slot's runs of kept diagonals ({@link VerticalSlashRuns}: ascending (first, last) pairs) and the key windows
     * they cover in query block [m0, m1): run r's diagonals together cover {@code [max(0, m0 - last), min(m0 + 64 -
     * first, m1))}, one stretch, since they are at most 64 apart.
     */
    private record Runs(KernelBuilder k, U64 pairs, U32 count, U32 m0, U32 m1) {
        U32 first(U32 r) {
            return k.loadU32(Address.global(k.add(pairs, k.mulWide(r, 8))));
        }

        U32 last(U32 r) {
            return k.loadU32(Address.global(k.add(pairs, k.mulWide(r, 8))).plus(4));
        }

        U32 start(U32 delta) {
            return k.select(k.gt(m0, delta), k.sub(m0, delta), k.u32(0));
        }

        U32 end(U32 delta) {
            return k.min(k.sub(k.add(m0, 64), delta), m1);
        }

        /** How many runs start below m1 (cross the block): a binary search every thread of the block runs alike. */
        U32 crossing() {
            return firstWhere(r -> k.ge(first(r), m1));
        }

        /** The first run (or count) for which {@code holds}, a property false then true along the runs. */
        private U32 firstWhere(Function<U32, Pred> holds) {
            U32 low = k.var("searchLow", k.u32(0));
            U32 high = k.var("searchHigh", count);
            k.whileLoop(() -> k.lt(low, high), () -> {
                U32 middle = k.shr(k.add(low, high), 1);
                Pred after = holds.apply(middle);
                k.set(low, k.select(after, low, k.add(middle, 1)));
                k.set(high, k.select(after, middle, high));
            });
            return low;
        }
    }
}
