package io.minference.sparse.gpu;

import io.minference.kernels.flash.FlashKeyLoop;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.sparse.SparseIndex;
import io.minference.ptx.tile.AccumulatorTile;
import io.minference.ptx.tile.OnlineSoftmax;
import io.minference.ptx.tile.RowTileLoad;

import static io.minference.ptx.dsl.Address.global;
import static io.minference.ptx.dsl.Address.shared;

/**
 * Flash attention over the keys of a {@link SparseIndex} on the tensor cores (bf16 in and out, f32 accumulation,
 * head dim 64 or 128): the dense kernel's key loop ({@link FlashKeyLoop}: ldmatrix, mma m16n8k16, the exp2
 * {@link OnlineSoftmax}, the same code as {@link io.minference.kernels.flash.FlashPrefill}'s) fed by an index
 * source instead of the causal one.
 * <p>Each block owns one index head slot and one 64-query block, 16 rows per warp. Its keys form one sequence of
 * 64-key tiles that the {@code stages}-deep cp.async pipeline walks without a break: first the ranges' tiles (a
 * range walked from its start, which may be any key; the keys of a tile past its range's end are zero-filled and
 * masked), then the columns,
 * 64 gathered rows per tile (the padding of the last one zero-filled and masked). Every thread copies its rows by
 * key, so both kinds of tile go through one gather. With each tile the loader stores its 64 key positions (masked
 * ones as {@link #MASKED_KEY}) and a flag in shared memory; the compute side masks {@code key > row} from those only
 * on flagged tiles: column tiles, and range tiles that reach past the block's first row or are cut by their
 * range's end. The loader's next range bounds and next column keys are read from global memory one tile ahead, so
 * no tile waits on an index read.
 * <p>Parameters: {@code q, k, v, o} (u64, the layout of {@link io.minference.kernels.flash}, a whole prompt from
 * position 0), the index's {@code rangeOffsets, rangeCounts, ranges, columnOffsets, columnCounts, columns} (u64,
 * {@link DeviceSparseIndex}'s compact layout), {@code length, firstHead, numHeads, numKvHeads} (u32), {@code scale}
 * (f32, 1/sqrt(d) * log2 e). Launch: grid {@code (index heads, query blocks)}, block {@link #THREADS}, dynamic shared
 * memory {@link #sharedBytes()}. Query blocks run last-first, all heads of one query block side by side. Rows with no
 * visible key are written as zeros; heads outside the index are not touched.
 */
public record SparseFlashPrefill(int headDim, int stages) implements KernelDefinition {
    /** Query rows per block and keys per tile. */
    public static final int BLOCK = SparseIndex.BLOCK;
    public static final int THREADS = 32 * BLOCK / 16;
    /** The key position of a masked tile slot: above every row. */
    static final int MASKED_KEY = Integer.MAX_VALUE;
    /** Per stage: 64 key positions and the mask flag, padded to 16 bytes. */
    private static final int KEY_SLOTS_BYTES = 4 * (BLOCK + 4);

    public SparseFlashPrefill {
        if (headDim != 64 && headDim != 128) {
            throw new IllegalArgumentException("the sparse tensor-core kernel handles head dims 64 and 128, not "
                    + headDim);
        }
        if (stages < 2) {
            throw new IllegalArgumentException("the pipeline needs at least 2 stages, got " + stages);
        }
    }

    /** The tuned shape for a head dim: 3 stages (two blocks fit an SM's shared memory on Hopper). */
    public static SparseFlashPrefill forHeadDim(int headDim) {
        return new SparseFlashPrefill(headDim, 3);
    }

    private int rowBytes() {
        return headDim * 2;
    }

    private int stageBytes() {
        return 2 * BLOCK * rowBytes();
    }

    public int sharedBytes() {
        return BLOCK * rowBytes() + stages * stageBytes() + stages * KEY_SLOTS_BYTES + 16;
    }

    @Override
    public String entryName() {
        return "sparse_flash_prefill_bf16_d%d_s%d".formatted(headDim, stages);
    }

    @Override
    public void define(KernelBuilder k) {
        U64 q = k.pointerParam("q");
        U64 kCache = k.pointerParam("k");
        U64 vCache = k.pointerParam("v");
        U64 o = k.pointerParam("o");
        IndexParams indexParams = IndexParams.declare(k);
        U32 length = k.u32Param("length");
        U32 firstHead = k.u32Param("firstHead");
        U32 numHeads = k.u32Param("numHeads");
        U32 numKvHeads = k.u32Param("numKvHeads");
        F32 scale = k.f32Param("scale");
        k.maxThreadsPerBlock(THREADS);
        k.describe("sparse flash attention over ranges and columns, head dim " + headDim + ", " + BLOCK
                + " queries x " + BLOCK + " keys per step, " + stages + " stages");

        U32 tid = k.threadIdx();
        U32 lane = k.and(tid, 31).named("lane");
        U32 warp = k.shr(tid, 5).named("warp");
        U32 headSlot = k.blockIdx(Axis.X).named("headSlot");
        U32 head = k.add(firstHead, headSlot).named("head");
        U32 queryBlocks = k.gridDim(Axis.Y);
        U32 queryBlock = k.sub(k.sub(queryBlocks, 1), k.blockIdx(Axis.Y)).named("queryBlock");
        U32 slot = k.mad(headSlot, queryBlocks, queryBlock).named("slot");
        U32 kvHead = k.div(head, k.div(numHeads, numKvHeads)).named("kvHead");
        U32 qRowBytes = k.mul(numHeads, rowBytes()).named("qRowBytes");
        U32 kvRowBytes = k.mul(numKvHeads, rowBytes()).named("kvRowBytes");
        U32 firstRow = k.mul(queryBlock, BLOCK).named("firstRow");
        U32 rowsHere = k.min(k.sub(length, firstRow), k.u32(BLOCK)).named("rowsHere");
        U64 qHead = k.add(q, k.mulWide(head, rowBytes())).named("qHead");
        U64 kHead = k.add(kCache, k.mulWide(kvHead, rowBytes())).named("kHead");
        U64 vHead = k.add(vCache, k.mulWide(kvHead, rowBytes())).named("vHead");
        SlotIndex slotIndex = new SlotIndex(slot, indexParams.rangeCounts(), indexParams.columnCounts(),
                indexParams.slotRanges(k, slot), indexParams.slotColumns(k, slot));

        U32 smem = k.dynamicShared(sharedBytes());
        U32 kvStages = k.add(smem, BLOCK * rowBytes()).named("kvStages");
        U32 keySlots = k.add(kvStages, stages * stageBytes()).named("keySlots");
        U32 scratch = k.add(keySlots, stages * KEY_SLOTS_BYTES).named("scratch");
        RowTileLoad queryLoad = new RowTileLoad(k, BLOCK, rowBytes(), tid, THREADS, qRowBytes);
        RowTileLoad keyLoad = new RowTileLoad(k, BLOCK, rowBytes(), tid, THREADS, kvRowBytes);

        FlashKeyLoop loop = new FlashKeyLoop(headDim, BLOCK, BLOCK, stages);
        loop.emit(k, lane, warp, smem, kvStages, scale, () -> {
            k.comment("Q block (rows past the end zeroed): the first commit group");
            queryLoad.copy(k, smem, k.add(qHead, k.mulWide(firstRow, qRowBytes)), firstRow, length, q);
        }, new IndexedTiles(k, new BlockThreads(tid, lane, warp), slotIndex, firstRow,
                new KeyRows(keyLoad, kHead, vHead, kCache), new SharedLayout(kvStages, keySlots, scratch)),
                new FlashKeyLoop.Output(
                () -> k.add(k.add(o, k.mulWide(head, rowBytes())), k.mulWide(firstRow, qRowBytes)), qRowBytes,
                rowsHere, true));
    }

    /** The block's thread index, its lane and its warp. */
    private record BlockThreads(U32 tid, U32 lane, U32 warp) {
    }

    /** The index slot the block walks: its number, the index's per-slot counts, and its ranges and columns. */
    private record SlotIndex(U32 slot, U64 rangeCounts, U64 columnCounts, U64 ranges, U64 columns) {
    }

    /**
     * Where key and value rows come from: the block's row loader and its KV head's first K and V rows, with
     * {@code anyValid} an address a masked row's copy may name without reading past the allocation.
     */
    private record KeyRows(RowTileLoad load, U64 kHead, U64 vHead, U64 anyValid) {
    }

    /** The shared memory the key loop uses past the Q block: the K/V stages, their key slots, the scratch words. */
    private record SharedLayout(U32 kvStages, U32 keySlots, U32 scratch) {
    }

    /**
     * The index source: the slot's range tiles (a range walked from its start in tiles of 64 keys), then its column
     * tiles (64 gathered keys each), one sequence; a tile is masked by the key positions its loader stored beside it
     * when its flag says so.
     */
    private final class IndexedTiles implements FlashKeyLoop.KeyTileSource {
        private final KernelBuilder k;
        private final RowTileLoad keyLoad;
        private final U32 tid;
        private final U32 lane;
        private final U32 warp;
        private final U32 slot;
        private final U32 firstRow;
        private final U64 rangeCounts;
        private final U64 columnCounts;
        private final U64 slotRanges;
        private final U64 slotColumns;
        private final U64 kHead;
        private final U64 vHead;
        private final U64 anyValid;
        private final U32 kvStages;
        private final U32 keySlots;
        private final U32 scratch;
        private U32 keyTiles;
        private TileLoader loader;
        private U32 laneRow;
        private U32 laneKeySlot;

        IndexedTiles(KernelBuilder k, BlockThreads threads, SlotIndex index, U32 firstRow, KeyRows keyRows,
                     SharedLayout memory) {
            this.k = k;
            this.keyLoad = keyRows.load();
            this.tid = threads.tid();
            this.lane = threads.lane();
            this.warp = threads.warp();
            this.slot = index.slot();
            this.firstRow = firstRow;
            this.rangeCounts = index.rangeCounts();
            this.columnCounts = index.columnCounts();
            this.slotRanges = index.ranges();
            this.slotColumns = index.columns();
            this.kHead = keyRows.kHead();
            this.vHead = keyRows.vHead();
            this.anyValid = keyRows.anyValid();
            this.kvStages = memory.kvStages();
            this.keySlots = memory.keySlots();
            this.scratch = memory.scratch();
        }

        /** The slot's tiles: its ranges' (summed over the block's threads), then its columns'. */
        @Override
        public void begin() {
            k.comment("tiles of the slot: the ranges' (summed over the block's threads), then the columns'");
            U32 rangeCount = k.loadU32(global(k.add(rangeCounts, k.mulWide(slot, 4)))).named("rangeCount");
            U32 columnCount = k.loadU32(global(k.add(columnCounts, k.mulWide(slot, 4)))).named("columnCount");
            U32 partial = k.var("rangeTilesPartial", k.u32(0));
            k.loop(tid, rangeCount, THREADS, r -> {
                U64 at = k.add(slotRanges, k.mulWide(r, 8));
                U32 start = k.loadU32(global(at));
                U32 end = k.loadU32(global(at).plus(4));
                k.set(partial, k.add(partial, k.div(k.add(k.sub(end, start), BLOCK - 1), BLOCK)));
            });
            U32 warpSum = partial;
            for (int mask = 16; mask >= 1; mask /= 2) {
                warpSum = k.add(warpSum, k.shuffleXor(warpSum, mask));
            }
            U32 warpTotal = warpSum;
            k.ifThen(k.eq(lane, 0), () -> k.store(shared(k.add(scratch, k.shl(warp, 2))), warpTotal));
            k.barrier();
            U32 rangeTiles = k.loadU32(shared(scratch));
            for (int w = 1; w < THREADS / 32; w++) {
                rangeTiles = k.add(rangeTiles, k.loadU32(shared(scratch).plus(4L * w)));
            }
            rangeTiles = rangeTiles.named("rangeTiles");
            keyTiles = k.add(rangeTiles, k.div(k.add(columnCount, BLOCK - 1), BLOCK)).named("keyTiles");
            loader = new TileLoader(rangeTiles, columnCount);
            loader.prefetchColumns(k.u32(0));
        }

        @Override
        public U32 tiles() {
            return keyTiles;
        }

        @Override
        public void load(U32 tile) {
            loader.load(tile);
        }

        @Override
        public void prepare(FlashKeyLoop.LaneRows lanes) {
            laneRow = k.add(firstRow, k.add(lanes.warpRow(), lanes.group())).named("laneRow");
            laneKeySlot = k.shl(lanes.pair(), 2).named("laneKeySlot");
        }

        @Override
        public void walk(FlashKeyLoop.Step step) {
            k.comment("the key loop: range tiles, then column tiles, one pipeline");
            k.loop(k.u32(0), keyTiles, 1, tile -> step.run(tile, (masked, scores) -> {
                U32 tileKeys = k.mad(k.rem(masked, stages), k.u32(KEY_SLOTS_BYTES), keySlots).named("tileKeys");
                U32 flag = k.loadU32(shared(tileKeys).plus(4L * BLOCK));
                k.ifThen(k.ne(flag, k.u32(0)), () -> maskFutureKeys(k, scores, k.add(tileKeys, laneKeySlot), laneRow));
            }));
        }

        /**
         * The producer side of the pipeline, the same on every thread of the block: a cursor over the slot's ranges
         * (the next tile's first key, the current range's end, the next range's bounds read ahead) and the keys of the
         * thread's rows in the next column tile, read ahead.
         */
        private final class TileLoader {
            private final RowTileLoad rows = keyLoad;
            private final U32 rangeTiles;
            private final U32 columnCount;
            private final U32 tileStart;
            private final U32 rangeEnd;
            private final U32 rangeAt;
            private final U32 nextStart;
            private final U32 nextEnd;
            private final U32[] columnKeys;

            TileLoader(U32 rangeTiles, U32 columnCount) {
                this.rangeTiles = rangeTiles;
                this.columnCount = columnCount;
                // A slot's first two ranges may always be read (the packed array ends with two spare pairs); their
                // bounds are used only while ranges remain.
                tileStart = k.var("tileStart", k.loadU32(global(slotRanges)));
                rangeEnd = k.var("rangeEnd", k.loadU32(global(slotRanges).plus(4)));
                rangeAt = k.var("rangeAt", k.u32(0));
                U64 second = rangeBounds(k.u32(1));
                nextStart = k.var("nextStart", k.loadU32(global(second)));
                nextEnd = k.var("nextEnd", k.loadU32(global(second).plus(4)));
                columnKeys = new U32[rows.passes()];
                for (int p = 0; p < columnKeys.length; p++) {
                    columnKeys[p] = k.var("columnKey", k.u32(0));
                }
            }

            /** Range {@code range} of the slot; at most one past its last, which is read ahead but never used. */
            private U64 rangeBounds(U32 range) {
                return k.add(slotRanges, k.mulWide(range, 8));
            }

            /** Reads the keys of this thread's rows in tile {@code tile}, if it is a column tile. */
            void prefetchColumns(U32 tile) {
                k.ifThen(k.and(k.ge(tile, rangeTiles), k.lt(tile, keyTiles)), () -> {
                    U32 first = k.mul(k.sub(tile, rangeTiles), BLOCK);
                    U32 last = k.sub(columnCount, 1);
                    for (int p = 0; p < columnKeys.length; p++) {
                        U32 index = k.min(k.add(first, rows.row(k, p)), last);
                        k.set(columnKeys[p], k.loadU32(global(k.add(slotColumns, k.mulWide(index, 4)))));
                    }
                });
            }

            /**
             * Starts the copies of tile {@code tile} into its stage, stores its key slots, then moves the cursor on.
             */
            void load(U32 tile) {
                U32 stageIndex = k.rem(tile, stages);
                U32 stage = k.mad(stageIndex, k.u32(stageBytes()), kvStages);
                U32 tileKeys = k.mad(stageIndex, k.u32(KEY_SLOTS_BYTES), keySlots);
                Pred inRange = k.lt(tile, rangeTiles);
                U32 firstColumn = k.mul(k.sub(tile, rangeTiles), BLOCK);
                U32[] keys = new U32[rows.passes()];
                Pred[] valid = new Pred[rows.passes()];
                for (int p = 0; p < keys.length; p++) {
                    U32 row = rows.row(k, p);
                    U32 rangeKey = k.add(tileStart, row);
                    keys[p] = k.select(inRange, rangeKey, columnKeys[p]);
                    valid[p] = k.or(k.and(inRange, k.lt(rangeKey, rangeEnd)),
                            k.and(k.not(inRange), k.lt(k.add(firstColumn, row), columnCount)));
                }
                rows.gather(k, stage, kHead, keys, valid, anyValid);
                rows.gather(k, k.add(stage, BLOCK * rowBytes()), vHead, keys, valid, anyValid);
                k.ifThen(rows.firstChunk(k), () -> {
                    for (int p = 0; p < keys.length; p++) {
                        k.store(shared(k.add(tileKeys, k.shl(rows.row(k, p), 2))),
                                k.select(valid[p], keys[p], k.u32(MASKED_KEY)));
                    }
                });
                k.ifThen(k.eq(tid, 0), () -> {
                    Pred crossesFirstRow = k.gt(k.add(tileStart, BLOCK - 1), firstRow);
                    Pred cutByEnd = k.lt(rangeEnd, k.add(tileStart, BLOCK));
                    Pred masked = k.or(k.not(inRange), k.or(crossesFirstRow, cutByEnd));
                    k.store(shared(tileKeys).plus(4L * BLOCK), k.select(masked, k.u32(1), k.u32(0)));
                });
                k.ifThen(inRange, () -> {
                    k.set(tileStart, k.add(tileStart, BLOCK));
                    k.ifThen(k.ge(tileStart, rangeEnd), () -> {
                        k.set(rangeAt, k.add(rangeAt, 1));
                        k.set(tileStart, nextStart);
                        k.set(rangeEnd, nextEnd);
                        U64 following = rangeBounds(k.add(rangeAt, 1));
                        k.set(nextStart, k.loadU32(global(following)));
                        k.set(nextEnd, k.loadU32(global(following).plus(4)));
                    });
                });
                prefetchColumns(k.add(tile, 1));
            }
        }
    }

    /**
     * Sets to -inf the scores of keys after the lane's rows: the key of entry (fragment f, column c) is read from
     * the tile's key slots ({@code laneKeys} is the lane's first pair), its rows are {@code laneRow} and
     * {@code laneRow + 8}.
     */
    private static void maskFutureKeys(KernelBuilder k, AccumulatorTile scores, U32 laneKeys, U32 laneRow) {
        U32 lowerRow = k.add(laneRow, 8);
        for (int f = 0; f < scores.fragmentCount(); f++) {
            for (int c = 0; c < 2; c++) {
                U32 key = k.loadU32(shared(laneKeys).plus(4L * (8 * f + c)));
                for (int half = 0; half < 2; half++) {
                    F32 score = scores.at(half, f, c);
                    k.set(score, k.select(k.gt(key, half == 0 ? laneRow : lowerRow),
                            k.f32(Float.NEGATIVE_INFINITY), score));
                }
            }
        }
    }
}
