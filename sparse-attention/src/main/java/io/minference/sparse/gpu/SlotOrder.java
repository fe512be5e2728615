package io.minference.sparse.gpu;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

import java.util.function.Function;

/**
 * The two passes that put the slots of one {@link SparseFlashAttention} launch in longest-first order
 * ({@link LaunchOrder#LONGEST_FIRST}), so that the slots with the most key tiles start first and the launch does not
 * end on a few long ones. The order only decides which block computes which slot, never what a slot computes: the
 * outputs are bit for bit those of the grid order.
 * <ul>
 *   <li>{@link Pass#TILES}: per slot, the key tiles the prefill computes ({@code ceil((end - start) / 64)} per
 *       range plus {@code ceil(columns / 64)}, as {@link IndexTiles} counts them per head). Parameters
 *       {@code rangeOffsets, rangeCounts, ranges, columnCounts} (the index's arrays from the launch's first slot),
 *       {@code tiles} (u64, u32 per slot, written), {@code slots} (u32). Launch: grid {@code ceil(slots /
 *       THREADS)}, {@link #THREADS} threads, one per slot.</li>
 *   <li>{@link Pass#ORDER}: a counting sort of the slots by {@code tiles / tilesPerBucket} (clamped to {@link #BUCKETS} - 1),
 *       descending, in one block: a histogram in shared memory, a block scan of it, then each slot's place by a
 *       shared atomic (slots of one bucket in no particular order). Parameters {@code tiles} (u64), {@code order}
 *       (u64, u32 per slot, written: the slot each block of the prefill takes, in launch order), {@code slots},
 *       {@code tilesPerBucket} (u32; the host picks it so that the longest possible slot stays below
 *       {@link #BUCKETS}).
 *       Launch: one block of {@link #THREADS} threads.</li>
 * </ul>
 * Both read a few bytes per slot (the ranges once); at 128K tokens and 32 heads, 64K slots, well under the time of one
 * slot of the prefill.
 * <p>With {@code pairs} (for {@link HopperSparseFlashPrefill.Variant#pairs}) the unit sorted is a pair of query
 * blocks of one head, {@code u = headSlot * ceil(queryBlocks / 2) + p} for blocks 2p and 2p + 1: the tiles pass sums
 * the pair's two slots and takes one more parameter, {@code queryBlocks} (u32), and {@code slots} counts units.
 */
public record SlotOrder(Pass pass, boolean pairs) implements KernelDefinition {
    /** Threads per block, and the order pass's histogram buckets (one per thread). */
    public static final int THREADS = 1024;
    public static final int BUCKETS = THREADS;
    private static final int BLOCK = 64;
    /**
     * Slots whose tile counts an order-pass thread loads before it counts or places any: the pass is one block over
     * every slot of a launch (half a million at a million tokens), and a load waited for each slot made it a chain of
     * round trips to memory.
     */
    static final int BATCH = 8;

    public enum Pass { TILES, ORDER }

    /** Sorting slots, not pairs. */
    public SlotOrder(Pass pass) {
        this(pass, false);
    }

    /**
     * The order pass's bucket width for slots of {@code queryBlocks} query blocks: a slot's tiles are at most its
     * ranges' (disjoint, within the causal area, plus one for rounding each) and its columns', so below
     * {@code 3 * queryBlocks + 1}; the width brings that below {@link #BUCKETS}.
     */
    public static int tilesPerBucket(int queryBlocks) {
        return (int) ((3L * queryBlocks + 1) / BUCKETS + 1);
    }

    @Override
    public String entryName() {
        return (pass == Pass.TILES ? "sparse_slot_tiles" : "sparse_slot_order") + (pairs ? "_pairs" : "");
    }

    @Override
    public void define(KernelBuilder k) {
        k.maxThreadsPerBlock(THREADS);
        if (pass == Pass.TILES) {
            defineTiles(k, pairs);
        } else {
            defineOrder(k);
        }
    }

    private static void defineTiles(KernelBuilder k, boolean pairs) {
        U64 rangeOffsets = k.pointerParam("rangeOffsets");
        U64 rangeCounts = k.pointerParam("rangeCounts");
        U64 ranges = k.pointerParam("ranges");
        U64 columnCounts = k.pointerParam("columnCounts");
        U64 tiles = k.pointerParam("tiles");
        U32 slots = k.u32Param("slots");
        U32 queryBlocks = pairs ? k.u32Param("queryBlocks") : null;
        k.describe("key tiles per " + (pairs ? "pair of query blocks" : "slot") + " of a sparse index, one thread per"
                + (pairs ? " pair" : " slot"));
        U32 unit = k.mad(k.blockIdx(), k.u32(THREADS), k.threadIdx()).named("slot");
        k.ifThen(k.lt(unit, slots), () -> {
            Function<U32, U32> slotTiles = slot -> {
                U32 rangeCount = k.loadU32(k.element(rangeCounts, slot, 4));
                U64 slotRanges = k.add(ranges, k.mulWide(k.loadU32(k.element(rangeOffsets, slot, 4)), 8));
                U32 columns = k.loadU32(k.element(columnCounts, slot, 4));
                U32 count = k.var("slotTiles", k.shr(k.add(columns, BLOCK - 1), 6));
                k.loop(k.u32(0), rangeCount, 1, r -> {
                    Address at = Address.global(k.add(slotRanges, k.mulWide(r, 8)));
                    U32 length = k.sub(k.loadU32(at.plus(4)), k.loadU32(at));
                    k.set(count, k.add(count, k.shr(k.add(length, BLOCK - 1), 6)));
                });
                return count;
            };
            if (!pairs) {
                k.store(k.element(tiles, unit, 4), slotTiles.apply(unit));
                return;
            }
            U32 pairsPerHead = k.shr(k.add(queryBlocks, 1), 1);
            U32 headSlot = k.div(unit, pairsPerHead);
            U32 first = k.shl(k.sub(unit, k.mul(headSlot, pairsPerHead)), 1);
            U32 slot = k.mad(headSlot, queryBlocks, first);
            U32 count = k.var("pairTiles", slotTiles.apply(slot));
            k.ifThen(k.lt(k.add(first, 1), queryBlocks),
                    () -> k.set(count, k.add(count, slotTiles.apply(k.add(slot, 1)))));
            k.store(k.element(tiles, unit, 4), count);
        });
    }

    private static void defineOrder(KernelBuilder k) {
        U64 tiles = k.pointerParam("tiles");
        U64 order = k.pointerParam("order");
        U32 slots = k.u32Param("slots");
        U32 tilesPerBucket = k.u32Param("tilesPerBucket");
        k.describe("slots of a sparse index by key tiles, longest first: a counting sort in one block");
        U32 histogram = k.sharedArray("histogram", BUCKETS * 4);
        U32 scratch = k.sharedArray("warpTotals", 32 * 4);
        U32 tid = k.threadIdx();
        k.store(k.element(histogram, tid, 4), k.u32(0));
        k.barrier();
        k.comment("bucket 0 holds the longest slots");
        Function<U32, Address> bucketOf = slotTiles -> {
            U32 length = k.div(slotTiles, tilesPerBucket);
            return k.element(histogram, k.sub(k.u32(BUCKETS - 1), k.min(length, k.u32(BUCKETS - 1))), 4);
        };
        Function<U32, U32> tilesOf = slot -> k.loadU32(k.element(tiles, slot, 4));
        EstimationOps.batchedLoop(k, tid, slots, THREADS, BATCH, tilesOf,
                (slot, slotTiles) -> k.atomicAdd(bucketOf.apply(slotTiles), k.u32(1)));
        k.barrier();
        U32 count = k.loadU32(k.element(histogram, tid, 4));
        EstimationOps.Scan first = EstimationOps.exclusiveScan(k, count, scratch, tid, THREADS / 32);
        k.store(k.element(histogram, tid, 4), first.prefix());
        k.barrier();
        k.comment("each slot takes the next place of its bucket");
        EstimationOps.batchedLoop(k, tid, slots, THREADS, BATCH, tilesOf, (slot, slotTiles) -> {
            U32 place = k.atomicAdd(bucketOf.apply(slotTiles), k.u32(1));
            k.store(k.element(order, place, 4), slot);
        });
    }
}
