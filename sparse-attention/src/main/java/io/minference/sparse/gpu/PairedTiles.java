package io.minference.sparse.gpu;

import io.minference.sparse.SparseIndex;

/**
 * The CPU twin of the paired Hopper kernel's key stream ({@link HopperSparseFlashPrefill.Variant#pairs},
 * {@link IndexKeySource}'s paired slots): for query blocks 2p and 2p + 1 of a head, the range tiles of both (each range
 * walked in 64-key tiles from its first key) merged by first key, a tile that starts at the same key in both counted
 * once, then both slots' column tiles. It counts what the producer loads, for reports, and holds the rule the
 * kernel's step count relies on: the merged stream is {@code tiles(A) + tiles(B) - common} range tiles long, where
 * {@link #commonTiles} finds the common ones range by range, as the kernel does before its roles split.
 */
public final class PairedTiles {
    private static final int BLOCK = SparseIndex.BLOCK;

    private PairedTiles() {
    }

    /** Tiles the paired kernel loads for head slot {@code h} of {@code index}: every pair's merged stream. */
    public static long loads(SparseIndex index, int h) {
        long loads = 0;
        for (int b = 0; b < index.queryBlocks(); b += 2) {
            loads += mergedRangeTiles(index, h, b) + index.columnTiles(h, b);
            if (b + 1 < index.queryBlocks()) {
                loads += index.columnTiles(h, b + 1);
            }
        }
        return loads;
    }

    /**
     * The key steps of the two-block cluster that takes the pair starting at query block {@code b}
     * ({@link HopperSparseFlashPrefill.Variant#cluster}, {@link IndexKeySource}'s clustered slots), the same in both
     * blocks: the merged range tiles, then column step j for the larger of the two slots' column-tile counts; at
     * least one.
     */
    public static int clusterSteps(SparseIndex index, int h, int b) {
        int second = b + 1 < index.queryBlocks() ? index.columnTiles(h, b + 1) : 0;
        return Math.max(1, mergedRangeTiles(index, h, b) + Math.max(index.columnTiles(h, b), second));
    }

    /**
     * The range tiles of the pair that starts at query block {@code b}, as the producer walks them: two cursors, the
     * one whose next tile starts first taken, both where they start at the same key.
     */
    public static int mergedRangeTiles(SparseIndex index, int h, int b) {
        Cursor a = new Cursor(index, h, b);
        Cursor second = b + 1 < index.queryBlocks() ? new Cursor(index, h, b + 1) : null;
        int steps = 0;
        while (a.inRanges() || (second != null && second.inRanges())) {
            boolean bLeft = second != null && second.inRanges();
            boolean takeA = a.inRanges() && (!bLeft || a.tileStart <= second.tileStart);
            boolean takeB = bLeft && (!a.inRanges() || second.tileStart <= a.tileStart);
            if (takeA) a.advance();
            if (takeB) second.advance();
            steps++;
        }
        return steps;
    }

    /**
     * The tiles the ranges of blocks {@code b} and {@code b + 1} share (the same first key), found as the kernel does:
     * walking both range lists in key order, two ranges that overlap with first keys a multiple of 64 apart share a
     * tile at every 64 keys of their overlap. 0 for a block without a partner.
     */
    public static int commonTiles(SparseIndex index, int h, int b) {
        if (b + 1 >= index.queryBlocks()) return 0;
        int i = 0, j = 0, common = 0;
        while (i < index.rangeCount(h, b) && j < index.rangeCount(h, b + 1)) {
            int startA = index.rangeStart(h, b, i), endA = index.rangeEnd(h, b, i);
            int startB = index.rangeStart(h, b + 1, j), endB = index.rangeEnd(h, b + 1, j);
            int from = Math.max(startA, startB), to = Math.min(endA, endB);
            if (from < to && ((startB - startA) & (BLOCK - 1)) == 0) common += (to - from + BLOCK - 1) / BLOCK;
            if (endA <= endB) i++; else j++;
        }
        return common;
    }

    /** One slot's walk through its ranges, tile by tile (the kernel's {@code IndexKeySource.Cursor}). */
    private static final class Cursor {
        private final SparseIndex index;
        private final int h;
        private final int b;
        private int range;
        private int tileStart;
        private int rangeEnd;

        Cursor(SparseIndex index, int h, int b) {
            this.index = index;
            this.h = h;
            this.b = b;
            if (inRanges()) read();
        }

        boolean inRanges() {
            return range < index.rangeCount(h, b);
        }

        void advance() {
            tileStart += BLOCK;
            if (tileStart >= rangeEnd && ++range < index.rangeCount(h, b)) read();
        }

        private void read() {
            tileStart = index.rangeStart(h, b, range);
            rangeEnd = index.rangeEnd(h, b, range);
        }
    }
}
