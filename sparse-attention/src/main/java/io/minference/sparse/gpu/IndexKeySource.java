package io.minference.sparse.gpu;

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
 * <p>Arrivals on a stage's full barrier, per tile: for a range tile thread 0's (announcing the TMA bytes) and every
 * other producer thread's; for a column tile every producer thread's, once its copies have landed (its own wait, or
 * the copy engine's arrival); with {@link GatherArrival#WARP} one per producer warp instead, after its lanes' stores
 * and copies (thread 0 announcing the TMA bytes without arriving). With {@link GatherArrival#ASYNC} the 64 threads that write the key positions arrive
 * once more at the end of the step, since the copy engine's arrivals do not release their plain stores.
 */
final class IndexKeySource implements HopperKeySource {
    /** The key position of a masked slot: above every row. */
    static final int MASKED_KEY = Integer.MAX_VALUE;
    private static final int BLOCK = SparseIndex.BLOCK;
    private static final int PRODUCERS = 128;

    /**
     * Where the slot's K and V rows are.
     *
     * @param keyMap     the K map (TMA, boxes of 64 rows)
     * @param valueMap   the V map
     * @param keyHead    K's base at the slot's KV head (for the gather)
     * @param valueHead  V's base at the slot's KV head
     * @param kvHead     the KV head (the maps' head coordinate)
     * @param kvRowBytes bytes between K (and V) rows
     */
    record KeyValues(TensorMapParam keyMap, TensorMapParam valueMap, U64 keyHead, U64 valueHead, U32 kvHead,
                     U32 kvRowBytes) {
    }

    /** The slot's part of the index: its ranges ({@code [start, end)} pairs) and its columns, with their counts. */
    record SlotKeys(U64 ranges, U32 rangeCount, U64 columns, U32 columnCount) {
    }

    private final int headDim;
    private final KeyValues rows;
    private final SlotKeys slot;
    private final int tilesPerStep;
    private final GatherArrival arrival;
    private final U32 rangeTiles;
    private final U32 steps;
    private U32 range;
    private U32 tileStart;
    private U32 rangeEnd;

    /** Reads the slot's counts and counts its range tiles (every thread, before the roles split). */
    IndexKeySource(KernelBuilder k, int headDim, KeyValues rows, SlotKeys slot, int tilesPerStep,
                   GatherArrival arrival) {
        this.headDim = headDim;
        this.rows = rows;
        this.slot = slot;
        this.tilesPerStep = tilesPerStep;
        this.arrival = arrival;
        U32 tiles = k.var("rangeTiles", k.u32(0));
        k.loop(k.u32(0), slot.rangeCount(), 1, r -> {
            Address at = global(k.add(slot.ranges(), k.mulWide(r, 8)));
            U32 length = k.sub(k.loadU32(at.plus(4)), k.loadU32(at));
            k.set(tiles, k.add(tiles, k.div(k.add(length, BLOCK - 1), BLOCK)));
        });
        this.rangeTiles = tiles;
        U32 all = k.add(tiles, k.div(k.add(slot.columnCount(), BLOCK - 1), BLOCK));
        this.steps = k.max(k.div(k.add(all, tilesPerStep - 1), tilesPerStep), k.u32(1)).named("keySteps");
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

    @Override
    public int producerThreads() {
        return PRODUCERS;
    }

    /** Gather addresses and the range walk, beside the slot's pointers: 24 registers would spill. */
    @Override
    public int producerRegisters() {
        return 56;
    }

    /**
     * Per tile one arrival per producer thread ({@link GatherArrival#WARP}: per producer warp), and with
     * {@link GatherArrival#ASYNC} one per position writer.
     */
    @Override
    public int producerArrivals() {
        return switch (arrival) {
            case WAIT -> PRODUCERS * tilesPerStep;
            case WARP -> PRODUCERS / 32 * tilesPerStep;
            case ASYNC -> PRODUCERS * tilesPerStep + BLOCK;
        };
    }

    @Override
    public int metadataBytes() {
        return 4 * blockN();
    }

    /** With {@link GatherArrival#ASYNC}, a stage holding a column tile is fenced to the async proxy here. */
    @Override
    public void acquired(KernelBuilder k, U32 step) {
        if (arrival == GatherArrival.ASYNC) {
            U32 lastTile = k.add(k.mul(step, tilesPerStep), tilesPerStep - 1);
            k.ifThen(k.ge(lastTile, rangeTiles), k::fenceProxyAsyncShared);
        }
    }

    @Override
    public void startProducer(KernelBuilder k) {
        range = k.var("range", k.u32(0));
        tileStart = k.var("tileStart", k.u32(0));
        rangeEnd = k.var("rangeEnd", k.u32(0));
        k.ifThen(k.gt(slot.rangeCount(), k.u32(0)), () -> readRange(k));
    }

    /** Reads range {@link #range}'s bounds into {@link #tileStart} and {@link #rangeEnd}. */
    private void readRange(KernelBuilder k) {
        Address at = global(k.add(slot.ranges(), k.mulWide(range, 8)));
        k.set(tileStart, k.loadU32(at));
        k.set(rangeEnd, k.loadU32(at.plus(4)));
    }

    @Override
    public void load(KernelBuilder k, U32 thread, U32 step, Stage stage) {
        Pred writesPosition = k.lt(thread, BLOCK);
        for (int part = 0; part < tilesPerStep; part++) {
            U32 tile = tilesPerStep == 1 ? step : k.add(k.mul(step, tilesPerStep), part);
            loadTile(k, thread, writesPosition, tile, part * BLOCK, stage);
        }
        if (arrival == GatherArrival.ASYNC) {
            k.ifThen(writesPosition, () -> k.arrive(stage.full()));
        }
    }

    /** Tile {@code tile} of the slot into rows {@code [firstRow, firstRow + 64)} of the stage, with its arrivals. */
    private void loadTile(KernelBuilder k, U32 thread, Pred writesPosition, U32 tile, int firstRow, Stage stage) {
        Address position = shared(k.add(stage.metadata(), k.shl(k.add(k.and(thread, BLOCK - 1), firstRow), 2)));
        k.ifElse(k.lt(tile, rangeTiles), () -> {
            k.comment("a range tile: TMA from the tile's first key");
            U32 key = k.add(tileStart, thread);
            k.ifThen(writesPosition, () -> k.store(position,
                    k.select(k.lt(key, rangeEnd), key, k.u32(MASKED_KEY))));
            Runnable issue = () -> {
                stage.keys().loadRows(k, rows.keyMap(), stage.full(), firstRow, BLOCK, rows.kvHead(), tileStart);
                stage.values().loadRows(k, rows.valueMap(), stage.full(), firstRow, BLOCK, rows.kvHead(),
                        tileStart);
            };
            int bytes = 2 * BLOCK * headDim * 2;
            if (arrival == GatherArrival.WARP) {
                k.ifThen(k.eq(thread, 0), () -> {
                    k.expectBytes(stage.full(), bytes);
                    issue.run();
                });
                k.arriveForWarp(stage.full(), k.and(thread, 31));
            } else {
                k.ifElse(k.eq(thread, 0), () -> {
                    k.arriveExpectingBytes(stage.full(), bytes);
                    issue.run();
                }, () -> k.arrive(stage.full()));
            }
            k.set(tileStart, k.add(tileStart, BLOCK));
            k.ifThen(k.ge(tileStart, rangeEnd), () -> {
                k.set(range, k.add(range, 1));
                k.ifThen(k.lt(range, slot.rangeCount()), () -> readRange(k));
            });
        }, () -> {
            k.comment("a column tile: every producer thread gathers 16-byte chunks of its rows");
            U32 firstColumn = k.mul(k.sub(tile, rangeTiles), BLOCK).named("firstColumn");
            gather(k, thread, firstColumn, stage.keys(), rows.keyHead(), firstRow);
            gather(k, thread, firstColumn, stage.values(), rows.valueHead(), firstRow);
            k.ifThen(writesPosition, () -> {
                U32 column = k.add(firstColumn, thread);
                k.store(position, k.select(k.lt(column, slot.columnCount()), columnKey(k, column),
                        k.u32(MASKED_KEY)));
            });
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
        });
    }

    /** The key of column {@code column} of the slot (column 0's when past the count: a read that stays inside). */
    private U32 columnKey(KernelBuilder k, U32 column) {
        U32 inside = k.min(column, k.sub(k.max(slot.columnCount(), k.u32(1)), 1));
        return k.loadU32(global(k.add(slot.columns(), k.mulWide(inside, 4))));
    }

    /**
     * This thread's chunks of a gathered tile: 64 rows of {@code headDim} bf16 into rows {@code [firstRow,
     * firstRow + 64)} of {@code tile}, zero-filled past the last column.
     */
    private void gather(KernelBuilder k, U32 thread, U32 firstColumn, WgmmaTile tile, U64 head, int firstRow) {
        int chunksPerRow = headDim / 8;
        for (int pass = 0; pass < BLOCK * chunksPerRow / PRODUCERS; pass++) {
            U32 index = k.add(thread, PRODUCERS * pass);
            U32 row = k.div(index, chunksPerRow);
            U32 chunk = k.rem(index, chunksPerRow);
            U32 column = k.add(firstColumn, row);
            U32 key = columnKey(k, column);
            U32 validBytes = k.select(k.lt(column, slot.columnCount()), k.u32(16), k.u32(0));
            U32 swizzled = k.xor(k.and(chunk, 7), k.and(row, 7));
            U32 offset = k.add(k.add(k.mul(k.shr(chunk, 3), tile.blockBytes()), k.shl(k.add(row, firstRow), 7)),
                    k.shl(swizzled, 4));
            U64 source = k.add(k.add(head, k.mulWide(key, rows.kvRowBytes())), k.mulWide(chunk, 16));
            k.copyAsyncZeroFill(shared(k.add(tile.address(), offset)), global(source), validBytes);
        }
    }

    @Override
    public void mask(KernelBuilder k, U32 step, Stage stage, WarpgroupAccumulator scores, U32 rowPosition,
                     U32 pair) {
        // positions ascend within a tile (range keys, then ascending columns) and a masked entry is MASKED_KEY, so
        // a tile's last position is its largest: at or before the thread's first row, nothing of the step is
        // masked for either of its rows. Most steps are such (whole range tiles below the diagonal, full column
        // tiles), and skip the shared loads and selects; the vote keeps the branch uniform per warp.
        U32 lastKey = null;
        for (int part = 0; part < tilesPerStep; part++) {
            U32 last = k.loadU32(shared(stage.metadata()).plus(4L * (BLOCK * part + BLOCK - 1)));
            lastKey = lastKey == null ? last : k.max(lastKey, last);
        }
        k.ifThen(k.any(k.gt(lastKey, rowPosition)), () -> {
            U32 lanePositions = k.add(stage.metadata(), k.shl(pair, 2));
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
