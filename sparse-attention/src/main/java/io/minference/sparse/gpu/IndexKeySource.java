package io.minference.sparse.gpu;

import io.minference.kernels.flash.HopperFlashLoop;
import io.minference.kernels.flash.HopperKeySource;
import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.FragmentC;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.TensorMapParam;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.ptx.dsl.WarpgroupAccumulator;
import io.minference.ptx.tile.WgmmaTile;
import io.minference.sparse.SparseIndex;

import java.util.List;

import static io.minference.ptx.dsl.Address.global;
import static io.minference.ptx.dsl.Address.shared;

/**
 * The key source of one {@link SparseIndex} slot (a head and a 64-query block) for the Hopper loop: first the tiles
 * of its key ranges, 64 keys each from the range's start (loaded by one thread with TMA, which starts a box at any
 * row), then its gathered columns, 64 per tile (every producer thread copies 16-byte chunks with cp.async into the
 * same swizzled layout, then hands them over as its {@link GatherArrival} says: waiting for its own copies and
 * fencing them to the async proxy before it arrives, or leaving the arrival to the copy engine and the fence to the
 * consumers). A step takes {@code tilesPerStep} such tiles, one under the other in the stage (the last step's
 * missing tiles are zero-filled and masked). With each tile the producer leaves its 64 key positions in the stage's
 * metadata, {@link #MASKED_KEY} where a tile runs past its range's end or past the last column. A step is masked
 * from those positions (key above the row: -inf) only where a warp has a row before one of its tiles' last position
 * (a partial tile, or one that reaches the diagonal); the others (whole tiles below every row of the warp) keep
 * their scores as they are, which is what the mask would have left, so the results are bit for bit those of masking
 * every step. A slot with no key takes one fully masked step, and its rows come out as zeros.
 * <p><b>Reading ahead.</b> What a step's copies depend on is read before the producer waits for the step's stage:
 * the walk keeps its next range's bounds loaded ({@link RangeCursor#start}), and with one slot and one tile a step
 * the keys of a column tile's rows are read in {@link #beforeStageWait}. A stage is released about a step before
 * the consumers want it back (the overlapped schedule holds one a step longer), so a global load between its
 * release and its copies is a wait that the consumers share.
 * <p><b>Range boxes.</b> With a {@code rangeBox} below 64 a range tile is {@code 64 / rangeBox} TMA boxes (the maps'
 * box is then that many rows), each the next {@code rangeBox} keys of the slot's ranges taken in order: a range's
 * last, partial box is followed in the same tile by the next range's first, where with whole tiles the rest of that
 * tile would be masked keys. A slot then has {@code ceil(boxes / (64 / rangeBox))} range tiles, its last possibly
 * short of boxes (those copied from past the maps' rows, so zeros, and masked). Each box's positions ascend and end
 * in its masked keys, so the mask test takes the largest of the boxes' last positions.
 * <p>Arrivals on a stage's full barrier, per tile: for a range tile thread 0's (announcing the TMA bytes) and every
 * other producer thread's; for a column tile every producer thread's, once its copies have landed (its own wait, or
 * the copy engine's arrival); with {@link GatherArrival#WARP} one per producer warp instead, after its lanes' stores
 * and copies, and a range tile is producer warp 0's alone (its lane 0 announcing the TMA bytes, the warp's one
 * arrival counting for all four). With {@link GatherArrival#ASYNC} the 64 threads that write the key positions
 * arrive once more at the end of the step, since the copy engine's arrivals do not release their plain stores.
 * <p><b>Values lagging.</b> For the overlapped schedule's {@link HopperFlashLoop.Schedule#lagValues} a single slot's
 * producer fills ring position t with K and the key positions of step t and V of step t - 1 ({@link #loadLagged}):
 * each warp keeps the first keys of the range boxes it copied K from, for their V a position later, and a column
 * tile's V rows are gathered again from the column list; the arrivals are one step's. Measured no faster than the
 * default (BENCHMARKS.md, "Values a step behind the keys"), so off unless asked for.
 * <p><b>Paired slots.</b> Given two slots (query blocks 2p and 2p + 1 of one head, one consumer warpgroup each) the
 * producer streams their tiles once for both: the two slots' range tiles merged by first key, a tile that starts at
 * the same key in both loaded once and computed by both (block 2p + 1's run of diagonals is block 2p's run 64 keys
 * further on, so all of a run's tiles but one coincide, and sink ranges start at the same key), then slot A's column
 * tiles, then slot B's. Every producer thread walks both slots' ranges; the stage's metadata holds 64 key positions
 * per consumer (threads 0-63 write A's, 64-127 B's, {@link #MASKED_KEY} for a slot that does not take the tile), and a
 * consumer whose first position is masked leaves the step to the other ({@link #takes}). Each consumer sees its own
 * slot's tiles in the single-slot order with the same positions, so its rows are bit for bit those of the
 * single-slot kernel; the K and V bytes moved drop by the shared tiles (a third on MInference's LLaMA-3-8B layer at
 * 128K on structured and RoPE inputs: {@code PairedTilesReport}). Steps: the merged range tiles
 * ({@code tiles(A) + tiles(B) - common}, the common ones counted range by range before the roles split) and both
 * slots' column tiles. One tile a step, {@link GatherArrival#WAIT} only. {@link PairedTiles} is this walk and this
 * count on the CPU (its test checks that the two agree); keep them in step.
 * <p><b>Clustered slots.</b> With the two slots of a pair split over a two-block cluster
 * ({@link HopperFlashLoop#clusterPairs}; {@link #clustered}), one consumer warpgroup a block, the block of cluster
 * rank r taking slot A (r = 0) or B (r = 1), both blocks' producers walk both slots' ranges and produce the same
 * step sequence, so that a step is in the same stage of both rings. The range steps walk both slots' cursors
 * ({@link ClusterTile}): where both next tiles start at the same key the step is shared, fetched once, K multicast by
 * rank 0 and V by rank 1 into both blocks (each block's thread 0 announcing the whole K and V bytes on its own full
 * barrier, the peer's copy completing its share there); otherwise each block loads its own slot's tile alone, both
 * in one step where the later-starting one certainly is private too (it starts before the earlier slot's following
 * tile), else the later one waits and its block's step is a placeholder (its producer threads arrive without bytes).
 * A slot's tiles keep their order, so shared tiles stay at one step in both blocks. Then column step j, in which
 * each block gathers its own slot's j-th column tile into its own stage (a placeholder where its slot has fewer).
 * Each block's metadata holds its own consumer's 64 key positions ({@link #MASKED_KEY} where its slot does not take
 * the step), so {@link #takes} and {@link #mask} read them as in the single-slot source, and each consumer sees its
 * slot's tiles in the single-slot order. Steps: the range steps, counted before the roles split by walking the
 * cursors with the producer's rule in every thread ({@link #clusterRangeSteps}: a turn per run of shared tiles and
 * per other step), and the larger of the two slots' column-tile counts, the same in both blocks (counted from the
 * same data). One tile a step, {@link GatherArrival#WAIT}, boxes of 64; the producer's registers are the
 * single-slot layout's. {@link PairedTiles#clusterRangeSteps} is this walk on the CPU; keep them in step.
 */
final class IndexKeySource implements HopperKeySource {
    /** The key position of a masked slot: above every row. */
    static final int MASKED_KEY = Integer.MAX_VALUE;
    private static final int BLOCK = SparseIndex.BLOCK;
    private static final int PRODUCERS = 128;
    /** The named barrier on which producer warps 1-3 wait for warp 0 ({@link #firstProducerStep}). */
    private static final int HANDSHAKE_BARRIER = 3;

    /**
     * Where the slot's K and V rows are.
     *
     * @param boxes      the K and V maps a range tile's boxes are copied through (TMA, boxes of the range box's
     *                   rows)
     * @param tiles      the K and V maps of whole 64-row tiles: {@code boxes} where the range box is 64
     * @param keyHead    K's base at the slot's KV head (for the gather)
     * @param valueHead  V's base at the slot's KV head
     * @param kvHead     the KV head (the maps' head coordinate)
     * @param kvRowBytes bytes between K (and V) rows
     * @param keyRows    the rows the maps hold (the prompt's length): a copy from there is zeros
     */
    record KeyValues(Maps boxes, Maps tiles, U64 keyHead, U64 valueHead, U32 kvHead, U32 kvRowBytes, U32 keyRows) {
    }

    /** A K map and a V map of the same box. */
    record Maps(TensorMapParam keys, TensorMapParam values) {
    }

    /** The slot's part of the index: its ranges ({@code [start, end)} pairs) and its columns, with their counts. */
    record SlotKeys(U64 ranges, U32 rangeCount, U64 columns, U32 columnCount) {
        Columns columnList() {
            return new Columns(columns, columnCount);
        }
    }

    /** A slot's gathered key columns (ascending) and their count. */
    record Columns(U64 at, U32 count) {
    }

    /**
     * How a source copies its range tiles: {@code box} keys a TMA copy (64, or a divisor of it down to 8), and with
     * {@code prefetchTiles} above 0 the producer asks L2 for the rows of the keys about that many tiles past each
     * range tile it copies ({@link #prefetchAhead}).
     */
    record RangeCopies(int box, int prefetchTiles) {
        /** Whole 64-key tiles, nothing prefetched: what pairs and clusters take. */
        static final RangeCopies WHOLE_TILES = new RangeCopies(BLOCK, 0);
    }

    private final int headDim;
    private final KeyValues rows;
    /** One slot, or the two of a pair (A, then B). */
    private final List<RangeCursor> slots;
    private final int tilesPerStep;
    private final GatherArrival arrival;
    /** Keys per TMA copy of a range tile: 64, or a part of a tile (32, 16 or 8). */
    private final int rangeBox;
    /** Tiles ahead of each range tile whose rows the producer asks L2 for; 0: none. */
    private final int prefetchTiles;
    /** Range tiles of the step sequence: the slot's, or the pair's merged ones. */
    private final U32 rangeTiles;
    /** Paired: slot A's column tiles, which come before B's. */
    private final U32 firstColumnTiles;
    /** Clustered: the block's rank in its cluster (0 takes slot A, 1 slot B); null otherwise. */
    private final U32 rank;
    private final U32 steps;
    /**
     * With range tiles by producer warp 0 alone: whether warps 1-3 wait for warp 0 before their first step, and the
     * step after whose fill warp 0 lets them go ({@link #firstProducerStep}); null otherwise.
     */
    private Pred handshake;
    private U32 handshakeStep;
    /** A consumer's copy of the last key position of the step it acquired last ({@link #acquired}), for the mask. */
    private U32 acquiredLastKey;
    /**
     * With values lagging ({@link #loadLagged}): the first keys of the boxes this producer warp copied K from in the
     * previous ring position, where V of that step now comes from (one a box the warp owns).
     */
    private U32[] laggedBoxStarts;
    /**
     * One slot, one tile a step: the keys of the rows this producer thread gathers of the next column tile, and of the
     * key position it writes there (threads 0-63), read before it waits for the tile's stage
     * ({@link #beforeStageWait}); null otherwise (the gather reads them itself).
     */
    private ColumnKeysAhead columnsAhead;

    /**
     * Reads the slots' counts and counts their range tiles (every thread, before the roles split). {@code slots}: one
     * slot, or two query blocks of one head (then one tile a step, {@link GatherArrival#WAIT} and boxes of 64 keys).
     * {@code ranges}: how its range tiles are copied.
     */
    IndexKeySource(KernelBuilder k, int headDim, KeyValues rows, List<SlotKeys> slots, int tilesPerStep,
                   GatherArrival arrival, RangeCopies ranges) {
        this(k, headDim, rows, slots, tilesPerStep, arrival, ranges, null);
    }

    /**
     * The source of the block of cluster rank {@code rank} (0 or 1) of a two-block cluster that takes slots
     * {@code a} (rank 0's) and {@code b} (rank 1's) (see the class comment, clustered slots): one tile a step,
     * {@link GatherArrival#WAIT}, boxes of 64; emitted before the roles split.
     */
    static IndexKeySource clustered(KernelBuilder k, int headDim, KeyValues rows, SlotKeys a, SlotKeys b, U32 rank) {
        return new IndexKeySource(k, headDim, rows, List.of(a, b), 1, GatherArrival.WAIT, RangeCopies.WHOLE_TILES,
                rank);
    }

    private IndexKeySource(KernelBuilder k, int headDim, KeyValues rows, List<SlotKeys> slots, int tilesPerStep,
                           GatherArrival arrival, RangeCopies ranges, U32 rank) {
        int rangeBox = ranges.box();
        if (rank != null && slots.size() != 2) {
            throw new IllegalArgumentException("a clustered source walks a pair of slots, not " + slots.size());
        }
        if (slots.size() == 2 && (tilesPerStep != 1 || arrival != GatherArrival.WAIT || rangeBox != BLOCK)) {
            throw new IllegalArgumentException("paired slots take one tile a step with waited gathers and range"
                    + " boxes of " + BLOCK + ", not " + tilesPerStep + " tiles, " + arrival.setting()
                    + " gathers and boxes of " + rangeBox);
        }
        if (slots.size() != 1 && slots.size() != 2) {
            throw new IllegalArgumentException("an index source walks one slot or a pair, not " + slots.size());
        }
        if (ranges.prefetchTiles() > 0 && (slots.size() != 1 || arrival == GatherArrival.WARP)) {
            throw new IllegalArgumentException("an L2 prefetch of range rows wants one slot whose range tiles every"
                    + " producer warp walks, not " + slots.size() + " slot(s) with " + arrival.setting() + " gathers");
        }
        this.headDim = headDim;
        this.rows = rows;
        this.tilesPerStep = tilesPerStep;
        this.arrival = arrival;
        this.rangeBox = rangeBox;
        this.prefetchTiles = ranges.prefetchTiles();
        this.rank = rank;
        this.slots = slots.stream().map(keys -> new RangeCursor(k, keys, rangeBox)).toList();
        RangeCursor first = this.slots.getFirst();
        if (clustered()) {
            RangeCursor second = this.slots.get(1);
            this.rangeTiles = clusterRangeSteps(k, first, second);
            this.firstColumnTiles = null;
            U32 all = k.add(rangeTiles, k.max(first.columnTiles(k), second.columnTiles(k)));
            this.steps = k.max(all, k.u32(1)).named("keySteps");
        } else if (paired()) {
            RangeCursor second = this.slots.get(1);
            this.rangeTiles = mergedRangeTiles(k, first, second);
            this.firstColumnTiles = first.columnTiles(k);
            U32 all = k.add(k.add(rangeTiles, firstColumnTiles), second.columnTiles(k));
            this.steps = k.max(all, k.u32(1)).named("keySteps");
        } else {
            this.rangeTiles = first.rangeTiles;
            this.firstColumnTiles = null;
            U32 all = k.add(rangeTiles, first.columnTiles(k));
            this.steps = k.max(k.div(k.add(all, tilesPerStep - 1), tilesPerStep), k.u32(1)).named("keySteps");
        }
    }

    /**
     * Clustered: the range steps, counted by walking both slots' cursors with the producer's rule
     * ({@link ClusterTile}) before the roles split, every thread the same walk on the same data (no shared memory, no
     * barrier). A run of tiles both slots start at the same keys is stepped over at once (as many steps as the
     * shorter of the two ranges' tiles left, all shared ones), so the walk takes about one turn per range and per
     * private tile. The cursors are started again by the producer.
     */
    private static U32 clusterRangeSteps(KernelBuilder k, RangeCursor a, RangeCursor b) {
        k.comment("the cluster's range steps: the producer's walk, shared runs at once");
        a.start(k);
        b.start(k);
        U32 steps = k.var("clusterRangeSteps", k.u32(0));
        k.whileLoop(() -> k.or(a.inRanges(k), b.inRanges(k)), () -> {
            Pred shared = k.and(k.and(a.inRanges(k), b.inRanges(k)), k.eq(a.boxStart, b.boxStart));
            k.ifElse(shared, () -> {
                U32 run = k.min(a.tilesLeftInRange(k), b.tilesLeftInRange(k));
                U32 keys = k.shl(run, 6);
                a.advanceBy(k, keys);
                b.advanceBy(k, keys);
                k.set(steps, k.add(steps, run));
            }, () -> {
                ClusterTile tile = ClusterTile.next(k, a, b);
                k.ifThen(tile.takeA(), () -> a.advance(k));
                k.ifThen(tile.takeB(), () -> b.advance(k));
                k.set(steps, k.add(steps, 1));
            });
        });
        return steps;
    }

    /** Two slots' range tiles merged by first key: theirs less the ones both start at the same key. */
    private static U32 mergedRangeTiles(KernelBuilder k, RangeCursor a, RangeCursor b) {
        return k.sub(k.add(a.rangeTiles, b.rangeTiles), commonTiles(k, a.keys, b.keys)).named("mergedRangeTiles");
    }

    /** Two slots in one block, one consumer warpgroup each. */
    private boolean paired() {
        return slots.size() == 2 && rank == null;
    }

    /** Two slots over a two-block cluster, one a block. */
    private boolean clustered() {
        return rank != null;
    }

    /**
     * The tiles two slots' ranges share (the same first key): walking both range lists in key order, a range of A
     * and one of B that overlap, with first keys a multiple of 64 apart, have a common tile at every 64 keys of their
     * overlap.
     */
    private static U32 commonTiles(KernelBuilder k, SlotKeys a, SlotKeys b) {
        U32 i = k.var("rangeOfA", k.u32(0));
        U32 j = k.var("rangeOfB", k.u32(0));
        U32 common = k.var("commonTiles", k.u32(0));
        k.whileLoop(() -> k.and(k.lt(i, a.rangeCount()), k.lt(j, b.rangeCount())), () -> {
            Address atA = global(k.add(a.ranges(), k.mulWide(i, 8)));
            Address atB = global(k.add(b.ranges(), k.mulWide(j, 8)));
            U32 startA = k.loadU32(atA);
            U32 endA = k.loadU32(atA.plus(4));
            U32 startB = k.loadU32(atB);
            U32 endB = k.loadU32(atB.plus(4));
            U32 from = k.max(startA, startB);
            U32 to = k.min(endA, endB);
            k.ifThen(k.and(k.lt(from, to), k.eq(k.and(k.sub(startB, startA), BLOCK - 1), 0)),
                    () -> k.set(common, k.add(common, k.div(k.add(k.sub(to, from), BLOCK - 1), BLOCK))));
            k.ifElse(k.le(endA, endB), () -> k.set(i, k.add(i, 1)), () -> k.set(j, k.add(j, 1)));
        });
        return common;
    }

    /** Keys per step: {@code tilesPerStep} tiles of 64. */
    int blockN() {
        return BLOCK * tilesPerStep;
    }

    @Override
    public U32 steps(KernelBuilder k) {
        return steps;
    }

    @Override
    public U32 firstMaskedStep(KernelBuilder k) {
        return k.u32(0);
    }

    /**
     * What the barriers, shared memory and producer registers of a source of {@code slots} slots with
     * {@code tilesPerStep} tiles a step and {@code arrival} gathers are sized by, before any slot is read (a persistent
     * kernel's, whose sources are made per unit):
     * <ul>
     *   <li>every producer thread takes part;</li>
     *   <li>gather addresses and the range walk, beside the slot's pointers, want 56 registers (24 would spill); two
     *       tiles a step with warp arrivals 64 (at 56 one register spilled), which leaves the two consumers of those
     *       blocks (one a SM) the 224 they would have had anyway;</li>
     *   <li>per tile one arrival per producer thread ({@link GatherArrival#WARP}: per producer warp), and with
     *       {@link GatherArrival#ASYNC} one more per position writer;</li>
     *   <li>64 key positions per tile and slot.</li>
     * </ul>
     */
    static HopperFlashLoop.SourceLayout layout(int slots, int tilesPerStep, GatherArrival arrival) {
        int registers = tilesPerStep == 2 && arrival == GatherArrival.WARP ? 64 : 56;
        int arrivals = switch (arrival) {
            case WAIT -> PRODUCERS * tilesPerStep;
            case WARP -> PRODUCERS / 32 * tilesPerStep;
            case ASYNC -> PRODUCERS * tilesPerStep + BLOCK;
        };
        return new HopperFlashLoop.SourceLayout(PRODUCERS, registers, arrivals, 4 * BLOCK * tilesPerStep * slots);
    }

    private HopperFlashLoop.SourceLayout layout() {
        return layout(paired() ? 2 : 1, tilesPerStep, arrival);
    }

    @Override
    public int producerThreads() {
        return layout().producerThreads();
    }

    @Override
    public int producerRegisters() {
        return layout().producerRegisters();
    }

    @Override
    public int producerArrivals() {
        return layout().producerArrivals();
    }

    @Override
    public int metadataBytes() {
        return layout().metadataBytes();
    }

    @Override
    public boolean skipsSteps() {
        return paired() || clustered();
    }

    /** Paired or clustered: whether the consumer's slot takes the step, from its first key position. */
    @Override
    public Pred takes(KernelBuilder k, U32 step, Stage stage) {
        return skipsSteps() ? k.ne(k.loadU32(shared(positions(k, stage))), k.u32(MASKED_KEY)) : null;
    }

    /** Where the calling consumer's key positions of a stage are: the stage's metadata, paired B's 64 further. */
    private U32 positions(KernelBuilder k, Stage stage) {
        if (!paired()) {
            return stage.metadata();
        }
        U32 consumer = k.sub(k.shr(k.threadIdx(), 7), 1);
        return k.add(stage.metadata(), k.shl(consumer, 8));
    }

    /**
     * With {@link GatherArrival#ASYNC}, a stage holding a column tile is fenced to the async proxy here. Then the
     * step's last key position ({@link #lastKey}), which {@link #mask} decides on, is read into
     * {@link #acquiredLastKey}: here, the shared loads run under the step's S = Q Kᵀ; in {@link #mask} they stood,
     * with their latency, at the head of the softmax (Nsight Compute's stall sampling, session 16).
     */
    @Override
    public void acquired(KernelBuilder k, U32 step, Stage stage) {
        if (arrival == GatherArrival.ASYNC) {
            U32 lastTile = k.add(k.mul(step, tilesPerStep), tilesPerStep - 1);
            k.ifThen(k.ge(lastTile, rangeTiles), k::fenceProxyAsyncShared);
        }
        U32 last = lastKey(k, stage);
        if (acquiredLastKey == null) {
            acquiredLastKey = k.var("acquiredLastKey", last);
        } else {
            k.set(acquiredLastKey, last);
        }
    }

    /**
     * The largest key position of a stage: positions ascend within a tile's box (a range tile's keys, a column
     * tile's ascending columns) and a masked entry is MASKED_KEY, so it is the largest of the boxes' last positions.
     * A column tile is one box of 64; a range tile's boxes are of rangeBox keys.
     */
    private U32 lastKey(KernelBuilder k, Stage stage) {
        U32 positions = positions(k, stage);
        U32 lastKey = null;
        for (int part = 0; part < tilesPerStep; part++) {
            for (int boxEnd = rangeBox; boxEnd <= BLOCK; boxEnd += rangeBox) {
                U32 last = k.loadU32(shared(positions).plus(4L * (BLOCK * part + boxEnd - 1)));
                lastKey = lastKey == null ? last : k.max(lastKey, last);
            }
        }
        return lastKey;
    }

    @Override
    public void startProducer(KernelBuilder k) {
        slots.forEach(slot -> slot.start(k));
        if (!paired() && !clustered() && tilesPerStep == 1) {
            U32[] rowKeys = new U32[gatherPasses()];
            for (int pass = 0; pass < rowKeys.length; pass++) {
                rowKeys[pass] = k.var("columnKeyAhead", k.u32(0));
            }
            columnsAhead = new ColumnKeysAhead(rowKeys, k.var("positionAhead", k.u32(MASKED_KEY)));
        }
    }

    /**
     * For a column tile, the keys its gather and its key positions need, read into {@link #columnsAhead}: before the
     * wait, a stage released a step before the consumers want it back (the overlapped schedule holds a stage a step
     * longer) is copied into at once, instead of after a global load's round trip; the range walk reads its next
     * range's bounds ahead for the same reason ({@link RangeCursor#start}).
     */
    @Override
    public void beforeStageWait(KernelBuilder k, U32 thread, U32 step) {
        if (columnsAhead == null) {
            return;
        }
        k.ifThen(k.ge(step, rangeTiles), () -> {
            k.comment("a column tile: its keys read before the stage is free");
            Columns columns = slots.getFirst().keys.columnList();
            U32 firstColumn = k.mul(k.sub(step, rangeTiles), BLOCK).named("firstColumnAhead");
            U32 firstColumnOfThread = k.add(firstColumn, gatherRow(k, thread));
            // threads 64-127 write no position: they read threads 0-63's, so that no read leaves the tile
            U32 column = k.add(firstColumn, k.and(thread, BLOCK - 1));
            U32[] rowKeys = columnsAhead.rowKeys();
            k.ifElse(k.le(k.add(firstColumn, BLOCK), columns.count()), () -> {
                setAll(k, rowKeys, threadRowKeys(k, columns, firstColumnOfThread, true));
                k.set(columnsAhead.position(), k.loadU32(global(k.add(columns.at(), k.mulWide(column, 4)))));
            }, () -> {
                setAll(k, rowKeys, threadRowKeys(k, columns, firstColumnOfThread, false));
                k.set(columnsAhead.position(), columnPosition(k, columns, column));
            });
        });
    }

    /** The box starts a warp keeps for the next position's V ({@link #laggedBoxStarts}). */
    @Override
    public void startLagging(KernelBuilder k) {
        laggedBoxStarts = new U32[boxesPerWarp()];
        for (int j = 0; j < laggedBoxStarts.length; j++) {
            laggedBoxStarts[j] = k.var("laggedBoxStart", k.u32(0));
        }
    }

    /** Range boxes a producer warp owns ({@link #boxedRangeTile}): box b is warp {@code b / boxesPerWarp()}'s. */
    private int boxesPerWarp() {
        return Math.max(1, BLOCK / rangeBox / (PRODUCERS / 32));
    }

    /**
     * One slot, one tile a step, gathers handed over per thread and nothing prefetched: a producer whose every
     * thread takes every step, so that each warp can keep what its boxes need for the next position.
     */
    @Override
    public boolean lagsValues() {
        return !paired() && !clustered() && tilesPerStep == 1 && arrival != GatherArrival.WARP && prefetchTiles == 0;
    }

    /**
     * Ring position {@code position}: V of step {@code position - 1} first (a range tile's boxes from the starts this
     * warp kept, a column tile's rows gathered again from the column list), then K and the key positions of step
     * {@code position}, as {@link #load} copies them; then one hand-over per thread, its copies' if it gathered
     * in either part, else a plain arrival, and with {@link GatherArrival#ASYNC} the position writers' second one: the
     * arrivals of one step.
     */
    @Override
    public void loadLagged(KernelBuilder k, U32 thread, U32 position, U32 steps, Stage stage) {
        if (!lagsValues() || laggedBoxStarts == null) {
            throw new IllegalStateException("this index source does not lag its values, or was not started lagging");
        }
        RangeCursor slot = slots.getFirst();
        Columns columns = slot.keys.columnList();
        Pred writesPosition = k.lt(thread, BLOCK);
        U32 valueStep = k.sub(position, 1).named("valueStep");
        Pred values = k.gt(position, k.u32(0));
        Pred keys = k.lt(position, steps);
        Pred valueColumns = k.and(values, k.ge(valueStep, rangeTiles));
        Pred keyColumns = k.and(keys, k.ge(position, rangeTiles));
        k.comment("V of the step before: a range tile's boxes from the kept starts, or its columns gathered again");
        k.ifThen(values, () -> k.ifElse(valueColumns,
                () -> gather(k, thread, columns, k.mul(k.sub(valueStep, rangeTiles), BLOCK), stage, 0,
                        Copied.VALUES),
                () -> laggedRangeValues(k, thread, stage)));
        k.comment("K and the key positions of this step");
        k.ifThen(keys, () -> k.ifElse(keyColumns, () -> {
            U32 firstColumn = k.mul(k.sub(position, rangeTiles), BLOCK).named("firstColumn");
            gather(k, thread, columns, firstColumn, stage, 0, Copied.KEYS);
            k.ifThen(writesPosition, () -> {
                U32 column = k.add(firstColumn, thread);
                k.store(shared(k.add(stage.metadata(), k.shl(thread, 2))), columnPosition(k, columns, column));
            });
        }, () -> laggedRangeKeys(k, thread, stage)));
        k.ifElse(k.or(valueColumns, keyColumns), () -> handOverGather(k, thread, stage),
                () -> k.arrive(stage.full()));
        if (arrival == GatherArrival.ASYNC) {
            k.ifThen(writesPosition, () -> k.arrive(stage.full()));
        }
    }

    /**
     * K of a range tile, box by box as {@link #boxedRangeTile} walks them (a tile of 64 keys being one box), each box's
     * first key kept by its owner warp's lane 0 for the V copy of the next position; no arrival.
     */
    private void laggedRangeKeys(KernelBuilder k, U32 thread, Stage stage) {
        walkRangeBoxes(k, k.shr(thread, 5), k.and(thread, 31), 0, stage, (box, boxRow, from) -> {
            U32 kept = laggedBoxStarts[box % boxesPerWarp()];
            k.set(kept, from);
            k.expectBytes(stage.full(), rangeBox * headDim * 2);
            stage.keys().loadRows(k, rows.boxes().keys(), stage.full(), boxRow, rangeBox, rows.kvHead(), kept);
        });
    }

    /** V of the range tile whose K the previous position took, from the box starts its warps kept; no arrival. */
    private void laggedRangeValues(KernelBuilder k, U32 thread, Stage stage) {
        int boxes = BLOCK / rangeBox;
        U32 warp = k.shr(thread, 5);
        k.ifThen(k.eq(k.and(thread, 31), 0), () -> {
            for (int box = 0; box < boxes; box++) {
                int boxRow = box * rangeBox;
                U32 kept = laggedBoxStarts[box % boxesPerWarp()];
                k.ifThen(k.eq(warp, k.u32(box / boxesPerWarp())), () -> {
                    k.expectBytes(stage.full(), rangeBox * headDim * 2);
                    stage.values().loadRows(k, rows.boxes().values(), stage.full(), boxRow, rangeBox, rows.kvHead(),
                            kept);
                });
            }
        });
    }

    /** With values lagging and gathers arrived for by the copy engine, the last position's V is fenced here. */
    @Override
    public void acquiredValues(KernelBuilder k, Stage stage) {
        if (arrival == GatherArrival.ASYNC) {
            k.fenceProxyAsyncShared();
        }
    }

    /**
     * A range tile is producer warp 0's alone: with {@link GatherArrival#WARP}, for one slot, in whole tiles (boxes are
     * spread over the four producer warps instead: {@link #boxedRangeTile}).
     */
    private boolean rangeTilesByOneWarp() {
        return arrival == GatherArrival.WARP && !paired() && rangeBox == BLOCK;
    }

    /**
     * With range tiles by producer warp 0 alone, warps 1-3 start at the first step that holds a column tile. Their
     * first wait is for the release of step {@code first - stages}; so that it is at most one phase ahead of that
     * stage's empty barrier, they wait (named barrier {@value #HANDSHAKE_BARRIER}) for warp 0 to have filled that
     * step, which it did only after the release before it. Without a column tile, or with fewer range steps than
     * stages, they need not wait.
     */
    @Override
    public U32 firstProducerStep(KernelBuilder k, U32 thread, int stages) {
        if (!rangeTilesByOneWarp()) {
            return k.u32(0);
        }
        U32 firstColumnStep = k.div(rangeTiles, tilesPerStep).named("firstColumnStep");
        handshake = k.and(k.ge(firstColumnStep, k.u32(stages)), k.lt(firstColumnStep, steps));
        handshakeStep = k.sub(firstColumnStep, stages).named("handshakeStep");
        Pred laterWarp = k.ge(thread, k.u32(32));
        k.ifThen(k.and(laterWarp, handshake), () -> k.barrier(HANDSHAKE_BARRIER, PRODUCERS));
        return k.select(laterWarp, firstColumnStep, k.u32(0));
    }

    @Override
    public void load(KernelBuilder k, U32 thread, U32 step, Stage stage) {
        if (paired()) {
            loadPaired(k, thread, step, stage);
            return;
        }
        if (clustered()) {
            loadClustered(k, thread, step, stage);
            return;
        }
        Pred writesPosition = k.lt(thread, BLOCK);
        for (int part = 0; part < tilesPerStep; part++) {
            U32 tile = tilesPerStep == 1 ? step : k.add(k.mul(step, tilesPerStep), part);
            loadTile(k, thread, writesPosition, tile, part * BLOCK, stage);
        }
        if (arrival == GatherArrival.ASYNC) {
            k.ifThen(writesPosition, () -> k.arrive(stage.full()));
        }
        if (rangeTilesByOneWarp()) {
            k.ifThen(k.and(k.lt(thread, 32), k.and(handshake, k.eq(step, handshakeStep))),
                    () -> k.barrierArrive(HANDSHAKE_BARRIER, PRODUCERS));
        }
    }

    /** Tile {@code tile} of the slot into rows {@code [firstRow, firstRow + 64)} of the stage, with its arrivals. */
    private void loadTile(KernelBuilder k, U32 thread, Pred writesPosition, U32 tile, int firstRow, Stage stage) {
        RangeCursor slot = slots.getFirst();
        Address position = shared(k.add(stage.metadata(), k.shl(k.add(k.and(thread, BLOCK - 1), firstRow), 2)));
        k.ifElse(k.lt(tile, rangeTiles), () -> {
            if (rangeBox != BLOCK) {
                boxedRangeTile(k, thread, firstRow, stage);
            } else if (rangeTilesByOneWarp()) {
                rangeTileByOneWarp(k, thread, firstRow, stage);
            } else {
                k.comment("a range tile: TMA from the tile's first key");
                k.ifThen(writesPosition, () -> k.store(position, slot.key(k, thread)));
                issueRangeTile(k, thread, slot.boxStart, firstRow, stage);
                slot.advance(k);
            }
            if (prefetchTiles > 0) {
                prefetchAhead(k, thread);
            }
        }, () -> {
            k.comment("a column tile: every producer thread gathers 16-byte chunks of its rows");
            U32 firstColumn = k.mul(k.sub(tile, rangeTiles), BLOCK).named("firstColumn");
            Columns columns = slot.keys.columnList();
            gather(k, thread, columns, firstColumn, stage, firstRow, Copied.BOTH,
                    columnsAhead == null ? null : columnsAhead.rowKeys());
            k.ifThen(writesPosition, () -> {
                if (columnsAhead != null) {
                    k.store(position, columnsAhead.position());
                } else {
                    k.store(position, columnPosition(k, columns, k.add(firstColumn, thread)));
                }
            });
            handOverGather(k, thread, stage);
        });
    }

    /**
     * After a range tile, with the cursor at the next tile's first key: thread t asks L2 for row {@code t mod 64} (of K
     * for threads 0-63, of V for 64-127) of the tile {@link #prefetchTiles} tiles past the one just copied, that is
     * from the cursor's key plus {@code prefetchTiles - 1} tiles, or as far into the next range where the current
     * one ends first. Where the cursor has left the last range, or the key lies past the next range too, it asks for
     * nothing: only keys inside the index's ranges (so inside the prompt's rows) are read. The key is a guess where
     * boxes smaller than a tile pack several ranges into one tile or the range after next would be reached; a wrong
     * guess costs an L2 line, never a result.
     */
    private void prefetchAhead(KernelBuilder k, U32 thread) {
        RangeCursor slot = slots.getFirst();
        k.comment("ask L2 for the rows " + prefetchTiles + " tile(s) ahead, one K or V row a thread");
        U32 ahead = k.add(k.add(slot.boxStart, (prefetchTiles - 1) * BLOCK), k.and(thread, BLOCK - 1));
        Pred inThisRange = k.and(slot.inRanges(k), k.lt(ahead, slot.rangeEnd));
        U32 inNextRange = k.add(slot.nextStart, k.sub(ahead, slot.rangeEnd)).named("prefetchNext");
        // a next range exists only while the cursor is inside the ranges, so this also says that it is
        Pred nextRangeExists = k.lt(k.add(slot.range, 1), slot.keys.rangeCount());
        Pred inNext = k.and(nextRangeExists, k.lt(inNextRange, slot.nextEnd));
        U32 key = k.select(inThisRange, ahead, inNextRange).named("prefetchKey");
        U64 head = k.select(k.lt(thread, k.u32(BLOCK)), rows.keyHead(), rows.valueHead());
        k.ifThen(k.or(inThisRange, inNext), () -> k.prefetchToL2(global(k.add(head, k.mulWide(key,
                rows.kvRowBytes()))), 2 * headDim));
    }

    /**
     * A paired step: the next of the merged range tiles (the slot whose next tile starts first, or both where they
     * start at the same key), or a column tile of A, then of B. Threads 0-63 write A's key positions, 64-127 B's.
     */
    private void loadPaired(KernelBuilder k, U32 thread, U32 step, Stage stage) {
        RangeCursor a = slots.get(0);
        RangeCursor b = slots.get(1);
        Address position = shared(k.add(stage.metadata(), k.shl(thread, 2)));
        Pred forB = k.ge(thread, k.u32(BLOCK));
        U32 lane = k.and(thread, BLOCK - 1);
        k.ifElse(k.lt(step, rangeTiles), () -> {
            k.comment("a range tile of A, of B or of both: TMA from its first key");
            MergedTile merged = MergedTile.next(k, a, b);
            Pred takeA = merged.takeA();
            Pred takeB = merged.takeB();
            U32 start = merged.start();
            U32 key = k.add(start, lane);
            Pred validA = k.and(k.not(forB), k.and(takeA, k.lt(key, a.rangeEnd)));
            Pred validB = k.and(forB, k.and(takeB, k.lt(key, b.rangeEnd)));
            k.store(position, k.select(k.or(validA, validB), key, k.u32(MASKED_KEY)));
            issueRangeTile(k, thread, start, 0, stage);
            k.ifThen(takeA, () -> a.advance(k));
            k.ifThen(takeB, () -> b.advance(k));
        }, () -> {
            k.comment("a column tile of A (its column tiles first), else of B");
            U32 tile = k.sub(step, rangeTiles);
            Pred ofA = k.lt(tile, firstColumnTiles);
            Columns columns = new Columns(k.select(ofA, a.keys.columns(), b.keys.columns()),
                    k.select(ofA, a.keys.columnCount(), b.keys.columnCount()));
            U32 firstColumn = k.mul(k.select(ofA, tile, k.sub(tile, firstColumnTiles)), BLOCK).named("firstColumn");
            gather(k, thread, columns, firstColumn, stage, 0, Copied.BOTH);
            U32 column = k.add(firstColumn, lane);
            Pred mine = k.or(k.and(ofA, k.not(forB)), k.and(k.not(ofA), forB));
            k.store(position, k.select(k.and(mine, k.lt(column, columns.count())), columnKey(k, columns, column),
                    k.u32(MASKED_KEY)));
            handOverGather(k, thread, stage);
        });
    }

    /**
     * The next of two slots' merged range tiles: the slot whose next tile starts first takes it, both where they
     * start at the same key; {@code start} is its first key.
     */
    private record MergedTile(Pred takeA, Pred takeB, U32 start) {
        static MergedTile next(KernelBuilder k, RangeCursor a, RangeCursor b) {
            Pred aLeft = a.inRanges(k);
            Pred bLeft = b.inRanges(k);
            Pred takeA = k.and(aLeft, k.or(k.not(bLeft), k.le(a.boxStart, b.boxStart)));
            Pred takeB = k.and(bLeft, k.or(k.not(aLeft), k.le(b.boxStart, a.boxStart)));
            return new MergedTile(takeA, takeB, k.select(takeA, a.boxStart, b.boxStart).named("pairTileStart"));
        }
    }

    /**
     * The next clustered range step: which slots' cursors take their next tile. Both where their next tiles start at
     * the same key ({@code shared}: multicast). Otherwise the one starting first certainly takes a private tile (the
     * other's starts only ascend), and the other takes its next tile too (a private pair, one tile in each block) if
     * that starts before the first one's {@link RangeCursor#followingStart}, which no tile of the first slot can then
     * start at; else it waits. A slot whose ranges are done takes nothing; the other's tiles are then private.
     */
    private record ClusterTile(Pred takeA, Pred takeB, Pred shared) {
        static ClusterTile next(KernelBuilder k, RangeCursor a, RangeCursor b) {
            Pred aLeft = a.inRanges(k);
            Pred bLeft = b.inRanges(k);
            Pred both = k.and(aLeft, bLeft);
            Pred shared = k.and(both, k.eq(a.boxStart, b.boxStart));
            Pred aFirst = k.lt(a.boxStart, b.boxStart);
            Pred pair = k.and(both, k.or(k.and(aFirst, k.lt(b.boxStart, a.followingStart(k))),
                    k.and(k.not(aFirst), k.lt(a.boxStart, b.followingStart(k)))));
            Pred takeA = k.and(aLeft, k.or(k.or(k.not(bLeft), k.le(a.boxStart, b.boxStart)), pair));
            Pred takeB = k.and(bLeft, k.or(k.or(k.not(aLeft), k.le(b.boxStart, a.boxStart)), pair));
            return new ClusterTile(takeA, takeB, shared);
        }
    }

    /**
     * A clustered step (the class comment's clustered slots): a range step ({@link ClusterTile}), multicast where
     * both slots take the same tile, this block's own tile alone where its slot takes a private one (the peer's
     * block may load its own private tile in the same step), else a placeholder; or column step j, this
     * block's slot's j-th column tile gathered here, a placeholder past its last. Threads 0-63 write this block's
     * slot's key positions. Every producer thread arrives once (thread 0's arrival announcing the bytes this block's
     * stage receives, if any).
     */
    private void loadClustered(KernelBuilder k, U32 thread, U32 step, Stage stage) {
        RangeCursor a = slots.get(0);
        RangeCursor b = slots.get(1);
        Pred rankA = k.eq(rank, 0);
        Pred writesPosition = k.lt(thread, BLOCK);
        Address position = shared(k.add(stage.metadata(), k.shl(k.and(thread, BLOCK - 1), 2)));
        k.ifElse(k.lt(step, rangeTiles), () -> {
            k.comment("a range tile of A, of B or of both: TMA from its first key, multicast where both take it");
            ClusterTile next = ClusterTile.next(k, a, b);
            Pred takeA = next.takeA();
            Pred takeB = next.takeB();
            Pred takeOwn = k.or(k.and(rankA, takeA), k.and(k.not(rankA), takeB));
            U32 start = k.select(rankA, a.boxStart, b.boxStart).named("ownTileStart");
            U32 ownEnd = k.select(rankA, a.rangeEnd, b.rangeEnd);
            k.ifThen(writesPosition, () -> {
                U32 key = k.add(start, thread);
                k.store(position, k.select(k.and(takeOwn, k.lt(key, ownEnd)), key, k.u32(MASKED_KEY)));
            });
            k.ifElse(next.shared(), () -> k.ifElse(k.eq(thread, 0),
                    () -> stage.loadSharedByCluster(k, rankA, rows.boxes().keys(), rows.boxes().values(),
                            rows.kvHead(), start),
                    () -> k.arrive(stage.full())), () -> k.ifElse(takeOwn, () -> {
                k.comment("a tile only this block's slot takes, loaded alone");
                issueRangeTile(k, thread, start, 0, stage);
            }, () -> {
                k.comment("a tile only the peer's slot takes: a placeholder, no bytes");
                k.arrive(stage.full());
            }));
            k.ifThen(takeA, () -> a.advance(k));
            k.ifThen(takeB, () -> b.advance(k));
        }, () -> {
            k.comment("column step j: this block's slot's j-th column tile, a placeholder past its last");
            U32 tile = k.sub(step, rangeTiles);
            Columns columns = new Columns(k.select(rankA, a.keys.columns(), b.keys.columns()),
                    k.select(rankA, a.keys.columnCount(), b.keys.columnCount()));
            U32 firstColumn = k.mul(tile, BLOCK).named("firstColumn");
            k.ifElse(k.lt(firstColumn, columns.count()), () -> {
                gather(k, thread, columns, firstColumn, stage, 0, Copied.BOTH);
                k.ifThen(writesPosition, () -> {
                    k.store(position, columnPosition(k, columns, k.add(firstColumn, thread)));
                });
                handOverGather(k, thread, stage);
            }, () -> {
                k.ifThen(writesPosition, () -> k.store(position, k.u32(MASKED_KEY)));
                k.arrive(stage.full());
            });
        });
    }

    /**
     * A range tile with {@link GatherArrival#WARP}: producer warp 0 alone writes its 64 key positions (two a lane),
     * lane 0 issues the TMA, and the warp arrives for all four producer warps at once; the other three start at the
     * slot's first column tile ({@link #firstProducerStep}) and never read their range cursors.
     */
    private void rangeTileByOneWarp(KernelBuilder k, U32 thread, int firstRow, Stage stage) {
        RangeCursor slot = slots.getFirst();
        k.ifThen(k.lt(thread, 32), () -> {
            k.comment("a range tile: producer warp 0 writes the positions, its lane 0 issues the TMA");
            for (int half = 0; half < BLOCK; half += 32) {
                U32 offset = k.add(thread, half);
                k.store(shared(k.add(stage.metadata(), k.shl(k.add(offset, firstRow), 2))), slot.key(k, offset));
            }
            k.ifThen(k.eq(thread, 0), () -> {
                k.expectBytes(stage.full(), rangeTileBytes());
                copyRangeTile(k, rows.boxes(), slot.boxStart, firstRow, BLOCK, stage);
            });
            k.arriveForWarp(stage.full(), thread, PRODUCERS / 32);
            slot.advance(k);
        });
    }

    /**
     * A range tile in boxes of {@link #rangeBox} keys: the slot's ranges walked box by box, so that a range's last
     * keys and the next range's first share the tile. Every producer warp walks every box (each needs the cursor at
     * its boxes of the next range tile too), and the work per box is spread over them: box b is warp
     * {@code b / max(1, boxes / 4)}'s, whose lanes write the box's key positions and whose lane 0 announces the box's
     * bytes and copies it (a box past the last range from the maps' end, so zeros, its positions masked: the slot's
     * last range tile may hold fewer boxes). Done by one or two warps, that work made their SM schedulers the busiest
     * (warp 0 issued 121 instructions a tile with boxes of 16 and 207 with 8, where two producer warps issued 29).
     * A tile whose 64 keys all lie in the range it starts in needs no walk: its positions are its first key and the
     * 63 after it (one a thread of warps 0-1), its copy is one of 64 rows through the maps of whole tiles
     * ({@link KeyValues#tiles}) by thread 0, and the cursor moves on by 64 keys at once, which leaves it where four
     * box steps would. The rows land in the same swizzled places; most tiles of a long range are such tiles.
     * Each producer thread then arrives, or with {@link GatherArrival#WARP} each warp once. Each box's positions
     * ascend and end in its masked keys, which {@link #mask} relies on.
     */
    private void boxedRangeTile(KernelBuilder k, U32 thread, int firstRow, Stage stage) {
        RangeCursor slot = slots.getFirst();
        U32 warp = k.shr(thread, 5);
        U32 lane = k.and(thread, 31);
        Pred wholeTile = k.and(slot.inRanges(k), k.le(k.add(slot.boxStart, BLOCK), slot.rangeEnd));
        k.ifElse(wholeTile, () -> {
            k.comment("a range tile inside one range: its keys' positions, one copy of 64 rows, the cursor 64 on");
            U32 row = firstRow == 0 ? thread : k.add(thread, firstRow);
            k.ifThen(k.lt(thread, BLOCK), () -> k.store(shared(k.add(stage.metadata(), k.shl(row, 2))),
                    k.add(slot.boxStart, thread)));
            k.ifThen(k.eq(thread, 0), () -> {
                k.expectBytes(stage.full(), rangeTileBytes());
                copyRangeTile(k, rows.tiles(), slot.boxStart, firstRow, BLOCK, stage);
            });
            slot.advanceBy(k, k.u32(BLOCK));
        }, () -> walkRangeBoxes(k, warp, lane, firstRow, stage, (box, boxRow, from) -> {
            k.expectBytes(stage.full(), rangeTileBytes() / (BLOCK / rangeBox));
            copyRangeTile(k, rows.boxes(), from, boxRow, rangeBox, stage);
        }));
        if (arrival == GatherArrival.WARP) {
            k.arriveForWarp(stage.full(), lane);
        } else {
            k.arrive(stage.full());
        }
    }

    /**
     * The walk of a range tile's boxes that {@link #boxedRangeTile} describes: each box's owner warp writes the box's
     * key positions into stage rows from {@code firstRow} on (two a lane for a box of 64), and its lane 0 hands the
     * box's first key (the maps' end past the last range) to {@code copyBox}; every warp advances the cursor over
     * every box. {@code warp} and {@code lane} are the producer thread's.
     */
    private void walkRangeBoxes(KernelBuilder k, U32 warp, U32 lane, int firstRow, Stage stage, BoxCopy copyBox) {
        RangeCursor slot = slots.getFirst();
        int boxes = BLOCK / rangeBox;
        int boxesPerWarp = boxesPerWarp();
        k.comment("a range tile in boxes of " + rangeBox + " keys, walked through the slot's ranges, box b by warp b / "
                + boxesPerWarp);
        for (int box = 0; box < boxes; box++) {
            int owner = box / boxesPerWarp;
            int boxIndex = box;
            int boxRow = firstRow + box * rangeBox;
            k.ifThen(k.eq(warp, k.u32(owner)), () -> {
                for (int half = 0; half < rangeBox; half += 32) {
                    U32 offset = half == 0 ? lane : k.add(lane, half);
                    k.ifThen(k.lt(offset, rangeBox), () -> k.store(shared(k.add(stage.metadata(),
                            k.shl(k.add(offset, boxRow), 2))), slot.key(k, offset)));
                }
                U32 from = k.select(slot.inRanges(k), slot.boxStart, rows.keyRows());
                k.ifThen(k.eq(lane, 0), () -> copyBox.copy(boxIndex, boxRow, from));
            });
            // every warp walks every box: its next box is in the next range tile, after the others' boxes
            slot.advance(k);
        }
    }

    /** What lane 0 of a box's owner warp issues for box {@code box} at stage row {@code boxRow}, from key {@code from}. */
    private interface BoxCopy {
        void copy(int box, int boxRow, U32 from);
    }

    /**
     * A range tile from key {@code start} into stage rows {@code firstRow...} with one arrival per producer thread
     * (thread 0's announcing the TMA bytes and issuing the copies).
     */
    private void issueRangeTile(KernelBuilder k, U32 thread, U32 start, int firstRow, Stage stage) {
        k.ifElse(k.eq(thread, 0), () -> {
            k.arriveExpectingBytes(stage.full(), rangeTileBytes());
            copyRangeTile(k, rows.boxes(), start, firstRow, BLOCK, stage);
        }, () -> k.arrive(stage.full()));
    }

    /**
     * The TMA copies (K and V) of {@code keys} keys (the maps' box: a tile, or a box of one) from key {@code start}
     * into stage rows {@code firstRow...}.
     */
    private void copyRangeTile(KernelBuilder k, Maps maps, U32 start, int firstRow, int keys, Stage stage) {
        stage.keys().loadRows(k, maps.keys(), stage.full(), firstRow, keys, rows.kvHead(), start);
        stage.values().loadRows(k, maps.values(), stage.full(), firstRow, keys, rows.kvHead(), start);
    }

    /** The bytes a range tile's copies deliver: 64 rows of K and of V. */
    private int rangeTileBytes() {
        return 2 * BLOCK * headDim * 2;
    }

    /** A gathered tile's hand-over: this thread's arrival once its copies land, as {@link #arrival} says. */
    private void handOverGather(KernelBuilder k, U32 thread, Stage stage) {
        if (arrival == GatherArrival.ASYNC) {
            k.arriveWhenCopiesLand(stage.full());
        } else {
            k.waitAll();
            k.fenceProxyAsyncShared();
            if (arrival == GatherArrival.WARP) {
                k.arriveForWarp(stage.full(), k.and(thread, 31));
            } else {
                k.arrive(stage.full());
            }
        }
    }

    /** The key of column {@code column} of a list (column 0's when past the count: a read that stays inside). */
    private static U32 columnKey(KernelBuilder k, Columns columns, U32 column) {
        U32 inside = k.min(column, k.sub(k.max(columns.count(), k.u32(1)), 1));
        return k.loadU32(global(k.add(columns.at(), k.mulWide(inside, 4))));
    }

    /** The key position of column {@code column} of a list: its key, or {@link #MASKED_KEY} past the count. */
    private static U32 columnPosition(KernelBuilder k, Columns columns, U32 column) {
        return k.select(k.lt(column, columns.count()), columnKey(k, columns, column), k.u32(MASKED_KEY));
    }

    /** As {@link #gather(KernelBuilder, U32, Columns, U32, Stage, int, Copied, U32[])}, reading the keys here. */
    private void gather(KernelBuilder k, U32 thread, Columns columns, U32 firstColumn, Stage stage, int firstRow,
                        Copied copied) {
        gather(k, thread, columns, firstColumn, stage, firstRow, copied, null);
    }

    /**
     * This thread's chunks of a gathered tile: 64 rows of {@code headDim} bf16 of K and of V into rows
     * {@code [firstRow, firstRow + 64)} of the stage's tiles, zero-filled past the last column. The thread copies the
     * same 16-byte chunk of a row every {@link #gatherRowsPerPass} rows, so its chunk, its rows' swizzle (their
     * row mod 8) and its place in the tiles are worked out once; per row only the column's key is read, and it serves
     * both copies (K's and V's tiles are laid out alike). Column tiles were issue-bound in the producer: in
     * {@code HopperStepIssueMeasurement} a gathered tile cost 484 producer instructions a warp with the row, chunk and
     * swizzle worked out per chunk, against 38 for a range tile and about 335 for a consumer warp's whole step; 108
     * this way (134 since its keys are read before the stage wait, with the clamped reads of a slot's last tile).
     * {@code keysAhead}: the keys of the thread's rows, one a pass, already read ({@link #columnsAhead}); null reads
     * them here.
     */
    private void gather(KernelBuilder k, U32 thread, Columns columns, U32 firstColumn, Stage stage, int firstRow,
                        Copied copied, U32[] keysAhead) {
        WgmmaTile keys = stage.keys();
        WgmmaTile values = stage.values();
        if (keys.blockBytes() != values.blockBytes()) {
            throw new IllegalStateException("a stage's K and V tiles are laid out alike, not in blocks of "
                    + keys.blockBytes() + " and " + values.blockBytes() + " bytes");
        }
        int chunksPerRow = headDim / 8;
        int rowsPerPass = gatherRowsPerPass();
        U32 firstRowOfThread = gatherRow(k, thread);
        U32 chunk = k.and(thread, chunksPerRow - 1).named("gatherChunk");
        // rowsPerPass is a multiple of 8, so every row this thread copies has its first row's swizzle
        U32 swizzled = k.xor(k.and(chunk, 7), k.and(firstRowOfThread, 7));
        U32 offset = k.add(k.add(k.mul(k.shr(chunk, 3), keys.blockBytes()),
                k.shl(k.add(firstRowOfThread, firstRow), 7)), k.shl(swizzled, 4)).named("gatherOffset");
        U32 keyTarget = k.add(keys.address(), offset);
        U32 valueTarget = k.add(values.address(), offset);
        U64 chunkBytes = k.mulWide(chunk, 16);
        U64 keySource = k.add(rows.keyHead(), chunkBytes);
        U64 valueSource = k.add(rows.valueHead(), chunkBytes);
        U32 firstColumnOfThread = k.add(firstColumn, firstRowOfThread);
        int passes = gatherPasses();
        // pass p: this thread's row rowsPerPass * p further, for the key of that row; validBytes null copies all 16
        RowCopy copy = (pass, key, validBytes) -> {
            U64 inRow = k.mulWide(key, rows.kvRowBytes());
            Address keyTo = shared(keyTarget).plus((long) rowsPerPass * pass * 128);
            Address valueTo = shared(valueTarget).plus((long) rowsPerPass * pass * 128);
            if (copied != Copied.VALUES) {
                copyChunk(k, keyTo, global(k.add(keySource, inRow)), validBytes);
            }
            if (copied != Copied.KEYS) {
                copyChunk(k, valueTo, global(k.add(valueSource, inRow)), validBytes);
            }
        };
        // a whole tile of columns (all but a slot's last) reads its keys at fixed offsets and copies all 16 bytes;
        // the last one clamps its reads to the list and zero-fills past its end
        k.ifElse(k.le(k.add(firstColumn, BLOCK), columns.count()), () -> {
            U32[] rowKeys = keysAhead != null ? keysAhead : threadRowKeys(k, columns, firstColumnOfThread, true);
            for (int pass = 0; pass < passes; pass++) {
                copy.rows(pass, rowKeys[pass], null);
            }
        }, () -> {
            U32[] rowKeys = keysAhead != null ? keysAhead : threadRowKeys(k, columns, firstColumnOfThread, false);
            for (int pass = 0; pass < passes; pass++) {
                U32 column = k.add(firstColumnOfThread, rowsPerPass * pass);
                copy.rows(pass, rowKeys[pass], k.select(k.lt(column, columns.count()), k.u32(16), k.u32(0)));
            }
        });
    }

    /** Rows of a gathered tile between two of a producer thread's: the producer threads over a row's chunks. */
    private int gatherRowsPerPass() {
        return PRODUCERS / (headDim / 8);
    }

    /** The rows of a gathered tile each producer thread copies a chunk of. */
    private int gatherPasses() {
        return BLOCK / gatherRowsPerPass();
    }

    /** The first row of a gathered tile whose chunk producer thread {@code thread} copies. */
    private U32 gatherRow(KernelBuilder k, U32 thread) {
        return k.shr(thread, Integer.numberOfTrailingZeros(headDim / 8)).named("gatherRow");
    }

    /**
     * The keys of a column tile's rows that a producer thread copies, one a pass, from its first,
     * {@code firstColumnOfThread}: in a whole tile ({@code wholeTile}) read at fixed offsets from one address; in a
     * slot's last tile clamped to the list ({@link #columnKey}), which may end inside it.
     */
    private U32[] threadRowKeys(KernelBuilder k, Columns columns, U32 firstColumnOfThread, boolean wholeTile) {
        U32[] keys = new U32[gatherPasses()];
        Address columnKeys = wholeTile ? global(k.add(columns.at(), k.mulWide(firstColumnOfThread, 4))) : null;
        for (int pass = 0; pass < keys.length; pass++) {
            keys[pass] = wholeTile
                    ? k.loadU32(columnKeys.plus(4L * gatherRowsPerPass() * pass))
                    : columnKey(k, columns, k.add(firstColumnOfThread, gatherRowsPerPass() * pass));
        }
        return keys;
    }

    /** Sets each of {@code targets} to the value beside it in {@code values}. */
    private static void setAll(KernelBuilder k, U32[] targets, U32[] values) {
        for (int i = 0; i < targets.length; i++) {
            k.set(targets[i], values[i]);
        }
    }

    /** A 16-byte chunk by cp.async: whole where {@code validBytes} is null, else zero-filled past them. */
    private static void copyChunk(KernelBuilder k, Address to, Address from, U32 validBytes) {
        if (validBytes == null) {
            k.copyAsync(to, from, 16);
        } else {
            k.copyAsyncZeroFill(to, from, validBytes);
        }
    }

    /** Which of a gathered row's tensors {@link #gather} copies. */
    private enum Copied {
        BOTH, KEYS, VALUES
    }

    /** Column keys read ahead of a stage wait: one a gather pass, and a key position ({@link #columnsAhead}). */
    private record ColumnKeysAhead(U32[] rowKeys, U32 position) {
    }

    /** One pass of {@link #gather}: the thread's chunk of K and of V for one row, whose key is given. */
    private interface RowCopy {
        void rows(int pass, U32 key, U32 validBytes);
    }

    @Override
    public void mask(KernelBuilder k, U32 step, Stage stage, WarpgroupAccumulator scores, U32 rowPosition,
                     U32 pair) {
        // with the step's last key position at or before the thread's first row, nothing of the step is masked for
        // either of its rows. Most steps are such (whole range tiles below the diagonal, full column tiles), and
        // skip the shared loads and selects; the vote keeps the branch uniform per warp. The consumer loop acquires
        // every step before masking it (HopperKeySource#acquired), so acquiredLastKey is this step's.
        if (acquiredLastKey == null) {
            throw new IllegalStateException("mask before the step was acquired");
        }
        U32 positions = positions(k, stage);
        k.ifThen(k.any(k.gt(acquiredLastKey, rowPosition)), () -> {
            U32 lanePositions = k.add(positions, k.shl(pair, 2));
            FragmentC[] fragments = scores.fragments();
            for (int f = 0; f < fragments.length; f++) {
                for (int c = 0; c < 2; c++) {
                    U32 key = k.loadU32(shared(lanePositions).plus(4L * (8 * f + c)));
                    for (int half = 0; half < 2; half++) {
                        F32 score = fragments[f].regs().get(2 * half + c);
                        U32 row = half == 0 ? rowPosition : k.add(rowPosition, 8);
                        k.set(score, k.select(k.gt(key, row), k.f32(Float.NEGATIVE_INFINITY), score));
                    }
                }
            }
        });
    }
}
