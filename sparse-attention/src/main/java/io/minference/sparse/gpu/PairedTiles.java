package io.minference.sparse.gpu;

import io.minference.sparse.SparseIndex;

import java.util.ArrayList;
import java.util.List;

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
     * blocks: the range steps of {@link #clusterRangeSteps}, then column step j for the larger of the two slots'
     * column-tile counts; at least one.
     */
    public static int clusterSteps(SparseIndex index, int h, int b) {
        int second = b + 1 < index.queryBlocks() ? index.columnTiles(h, b + 1) : 0;
        return Math.max(1, clusterRangeSteps(index, h, b).size() + Math.max(index.columnTiles(h, b), second));
    }

    /**
     * A range step of a cluster: the first key of the tile block A (rank 0) and block B (rank 1) each load, -1 for a
     * placeholder; {@code shared} where both are the same tile, multicast.
     */
    public record ClusterStep(int a, int b, boolean shared) {
    }

    /**
     * The range steps of the cluster that takes the pair starting at query block {@code b}, as its producers walk
     * them (the kernel's {@code IndexKeySource.ClusterTile}): where both cursors' next tiles start at the same key, a
     * shared step; else the one starting first takes its tile, and the other takes its own in the same step if that
     * starts before the first one's following tile (the next 64 keys further in its range, else its next range's
     * first key, else none), which no tile of the first can then start at; else the other waits (a placeholder).
     */
    public static List<ClusterStep> clusterRangeSteps(SparseIndex index, int h, int b) {
        Cursor a = new Cursor(index, h, b);
        Cursor second = b + 1 < index.queryBlocks() ? new Cursor(index, h, b + 1) : null;
        List<ClusterStep> steps = new ArrayList<>();
        while (a.inRanges() || (second != null && second.inRanges())) steps.add(clusterStep(a, second));
        return steps;
    }

    /** One range step of {@link #clusterRangeSteps} ({@code second} null without a partner); the cursors move on. */
    private static ClusterStep clusterStep(Cursor a, Cursor second) {
        boolean aLeft = a.inRanges();
        boolean bLeft = second != null && second.inRanges();
        boolean both = aLeft && bLeft;
        boolean pair = both && (a.tileStart < second.tileStart ? second.tileStart < a.followingStart()
                : a.tileStart < second.followingStart());
        boolean takeA = aLeft && (!bLeft || a.tileStart <= second.tileStart || pair);
        boolean takeB = bLeft && (!aLeft || second.tileStart <= a.tileStart || pair);
        ClusterStep step = new ClusterStep(takeA ? a.tileStart : -1, takeB ? second.tileStart : -1,
                both && a.tileStart == second.tileStart);
        if (takeA) a.advance();
        if (takeB) second.advance();
        return step;
    }

    /** The counting walk of a cluster ({@link #clusterWalk}): its turns, and the range steps it counts. */
    public record ClusterWalk(int turns, int steps) {
    }

    /**
     * The walk that counts a cluster's range steps before the roles split (the kernel's
     * {@code IndexKeySource.clusterRangeSteps}, every thread of both blocks): a run of tiles both slots start at the
     * same keys (as many as the shorter of the two ranges has left) in one turn, any other step in one; the steps it
     * counts must be {@link #clusterRangeSteps}'s. Runs of private
     * pairs or of one slot's private tiles in a turn were tried: on layer 22 of MInference's LLaMA-3-8B patterns
     * they took the turns at 128K from 61.1 / 164.8 / 243.2 a cluster (structured, RoPE, random) to 61.0 / 164.8 /
     * 243.2 (the private tiles are a range's first or last), for a quarter more instructions a turn.
     */
    public static ClusterWalk clusterWalk(SparseIndex index, int h, int b) {
        Cursor a = new Cursor(index, h, b);
        Cursor second = b + 1 < index.queryBlocks() ? new Cursor(index, h, b + 1) : null;
        int turns = 0, steps = 0;
        while (a.inRanges() || (second != null && second.inRanges())) {
            if (second != null && a.inRanges() && second.inRanges() && a.tileStart == second.tileStart) {
                int run = Math.min(a.tilesLeftInRange(), second.tilesLeftInRange());
                for (int i = 0; i < run; i++) {
                    a.advance();
                    second.advance();
                }
                steps += run;
            } else {
                clusterStep(a, second);
                steps++;
            }
            turns++;
        }
        return new ClusterWalk(turns, steps);
    }

    /**
     * What the clusters of some head slots come to.
     *
     * @param placeholders       steps of a block whose slot takes no tile there, over both blocks of every cluster (a
     *                           second block without a slot counted too)
     * @param steps              all steps of both blocks
     * @param placeholdersBefore the placeholders with the walk before private pairs (merged range tiles, one slot's
     *                           alone a placeholder in the other)
     * @param stepsBefore        that walk's steps of both blocks
     * @param turns              the turns of the walk that counts the range steps ({@link #clusterWalk}), summed
     * @param mostTurns          the most turns of one cluster
     * @param clusters           the clusters
     */
    public record ClusterCounts(long placeholders, long steps, long placeholdersBefore, long stepsBefore, long turns,
                                long mostTurns, long clusters) {
        public static final ClusterCounts NONE = new ClusterCounts(0, 0, 0, 0, 0, 0, 0);

        /** These and {@code other}'s together: sums, and the larger of the most turns. */
        public ClusterCounts plus(ClusterCounts other) {
            return new ClusterCounts(placeholders + other.placeholders, steps + other.steps,
                    placeholdersBefore + other.placeholdersBefore, stepsBefore + other.stepsBefore,
                    turns + other.turns, Math.max(mostTurns, other.mostTurns), clusters + other.clusters);
        }
    }

    /** The placeholders, steps and counting turns of the clusters of head slot {@code h}. */
    public static ClusterCounts clusterPlaceholders(SparseIndex index, int h) {
        ClusterCounts counts = ClusterCounts.NONE;
        for (int b = 0; b < index.queryBlocks(); b += 2) {
            int tilesB = b + 1 < index.queryBlocks() ? index.tiles(h, b + 1) : 0;
            int own = index.tiles(h, b) + tilesB;
            int columnsB = b + 1 < index.queryBlocks() ? index.columnTiles(h, b + 1) : 0;
            int columnSteps = Math.max(index.columnTiles(h, b), columnsB);
            int steps = clusterSteps(index, h, b);
            int before = Math.max(1, mergedRangeTiles(index, h, b) + columnSteps);
            int turns = clusterWalk(index, h, b).turns();
            counts = counts.plus(new ClusterCounts(2L * steps - own, 2L * steps, 2L * before - own, 2L * before,
                    turns, turns, 1));
        }
        return counts;
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

        /** The first key of the tile after the next one: 64 keys further in the range, the next range's, or none. */
        int followingStart() {
            if (tileStart + BLOCK < rangeEnd) return tileStart + BLOCK;
            return range + 1 < index.rangeCount(h, b) ? index.rangeStart(h, b, range + 1) : Integer.MAX_VALUE;
        }

        int tilesLeftInRange() {
            return (rangeEnd - tileStart + BLOCK - 1) / BLOCK;
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
