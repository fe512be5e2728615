package io.minference.sparse.gpu;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.U32;
import io.minference.sparse.SparseIndex;

import static io.minference.ptx.dsl.Address.global;

/**
 * One slot's walk through its ranges, a TMA box at a time (a tile, or with smaller boxes a part of one): its
 * range tiles (counted by every thread before the roles split) and, in the producer, the range it is in, the next
 * box's first key and the range's end.
 */
final class RangeCursor {
    final IndexKeySource.SlotKeys keys;
    final int box;
    final U32 rangeTiles;
    U32 range;
    U32 boxStart;
    U32 rangeEnd;
    /** The bounds of range {@code range + 1}, loaded when the walk entered {@code range}. */
    U32 nextStart;
    U32 nextEnd;

    /**
     * Counts the slot's range tiles a warp at a time: lane l takes ranges l, l + 32, ..., then the warp sums the
     * lanes' counts. A slot holds tens to hundreds of ranges (MInference's LLaMA-3-8B layer 22 at 128K:
     * 36 on the structured inputs, 97 on the RoPE ones, 187 on random ones), and a loop over them one at a
     * time waits for each range's loads in turn before any thread of the block can start; this way a warp
     * waits for a few coalesced loads. The trip count is the same in every lane, so the warp is converged for
     * the sum ({@code redux.sync}, whose result ptxas knows to be warp-uniform: summed by shuffles instead, the
     * count took a thread register through the consumer's loop, and the overlap and 128-key variants spilled).
     * With boxes smaller than a tile the lanes count boxes, and a tile is {@code 64 / box} of them.
     */
    RangeCursor(KernelBuilder k, IndexKeySource.SlotKeys keys, int box) {
        this.keys = keys;
        this.box = box;
        U32 lane = k.laneId();
        U32 tiles = k.var("rangeTiles", k.u32(0));
        k.loop(k.u32(0), keys.rangeCount(), 32, first -> {
            U32 r = k.add(first, lane);
            Pred mine = k.lt(r, keys.rangeCount());
            Address at = global(k.add(keys.ranges(), k.mulWide(k.min(r, k.sub(keys.rangeCount(), 1)), 8)));
            U32 length = k.sub(k.loadU32(at.plus(4)), k.loadU32(at));
            U32 boxesOfRange = k.div(k.add(length, box - 1), box);
            k.set(tiles, k.add(tiles, k.select(mine, boxesOfRange, k.u32(0))));
        });
        U32 boxes = k.warpSum(tiles);
        int boxesPerTile = SparseIndex.BLOCK / box;
        this.rangeTiles = (boxesPerTile == 1 ? boxes : k.div(k.add(boxes, boxesPerTile - 1), boxesPerTile))
                .named("rangeTiles");
    }

    U32 columnTiles(KernelBuilder k) {
        return k.div(k.add(keys.columnCount(), SparseIndex.BLOCK - 1), SparseIndex.BLOCK);
    }

    /**
     * Reads the first range, and the second ahead of need. The walk keeps the next range's bounds loaded one
     * range early ({@link #advance}): a range change then uses registers whose load was issued a range before,
     * instead of waiting on a dependent global load, which boxes make several times a tile.
     */
    void start(KernelBuilder k) {
        range = k.var("range", k.u32(0));
        boxStart = k.var("boxStart", k.u32(0));
        rangeEnd = k.var("rangeEnd", k.u32(0));
        nextStart = k.var("nextStart", k.u32(0));
        nextEnd = k.var("nextEnd", k.u32(0));
        k.ifThen(k.gt(keys.rangeCount(), k.u32(0)), () -> {
            Address at = global(keys.ranges());
            k.set(boxStart, k.loadU32(at));
            k.set(rangeEnd, k.loadU32(at.plus(4)));
            readAhead(k, k.u32(1));
        });
    }

    Pred inRanges(KernelBuilder k) {
        return k.lt(range, keys.rangeCount());
    }

    /** Loads range {@code next}'s bounds (the last range's past the end) into the read-ahead registers. */
    private void readAhead(KernelBuilder k, U32 next) {
        U32 inside = k.min(next, k.sub(keys.rangeCount(), 1));
        Address at = global(k.add(keys.ranges(), k.mulWide(inside, 8)));
        k.set(nextStart, k.loadU32(at));
        k.set(nextEnd, k.loadU32(at.plus(4)));
    }

    /**
     * The key {@code offset} keys into the current box, or {@link IndexKeySource#MASKED_KEY} past its range's end
     * (also once the ranges are done: the walk then stays past the last range's end).
     */
    U32 key(KernelBuilder k, U32 offset) {
        U32 key = k.add(boxStart, offset);
        return k.select(k.lt(key, rangeEnd), key, k.u32(IndexKeySource.MASKED_KEY));
    }

    /**
     * Clustered (whole tiles): the first key of the tile after the next one, from registers: 64 keys further
     * within the range, else the read-ahead next range's first key, else {@link IndexKeySource#MASKED_KEY} (no more
     * ranges).
     * The slot's tile starts only ascend, so no tile of it starts strictly between its next and this.
     */
    U32 followingStart(KernelBuilder k) {
        U32 further = k.add(boxStart, SparseIndex.BLOCK);
        U32 nextRange = k.select(k.lt(k.add(range, 1), keys.rangeCount()), nextStart,
                k.u32(IndexKeySource.MASKED_KEY));
        return k.select(k.lt(further, rangeEnd), further, nextRange);
    }

    /** Clustered (whole tiles): the tiles left in the current range, the next one included. */
    U32 tilesLeftInRange(KernelBuilder k) {
        return k.shr(k.add(k.sub(rangeEnd, boxStart), SparseIndex.BLOCK - 1), 6);
    }

    /** On to the next box: {@link #box} keys further, or the next range's first. */
    void advance(KernelBuilder k) {
        k.set(boxStart, k.add(boxStart, box));
        leaveEndedRange(k);
    }

    /** On by {@code by} keys, at most to the range's last box's end, then to the next range's first if past. */
    void advanceBy(KernelBuilder k, U32 by) {
        k.set(boxStart, k.add(boxStart, by));
        leaveEndedRange(k);
    }

    private void leaveEndedRange(KernelBuilder k) {
        k.ifThen(k.ge(boxStart, rangeEnd), () -> {
            k.set(range, k.add(range, 1));
            k.ifThen(k.lt(range, keys.rangeCount()), () -> {
                k.set(boxStart, nextStart);
                k.set(rangeEnd, nextEnd);
                readAhead(k, k.add(range, 1));
            });
        });
    }
}
