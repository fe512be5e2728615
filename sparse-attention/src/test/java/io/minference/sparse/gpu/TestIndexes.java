package io.minference.sparse.gpu;

import io.minference.sparse.SparseIndex;
import io.minference.sparse.pattern.VerticalSlashIndex;

import java.util.Arrays;
import java.util.Random;
import java.util.TreeSet;

/**
 * Indices of the shapes the patterns build, made from random choices for kernel tests: dense, vertical-slash-like
 * (kept diagonals and columns turned into exact diagonal ranges and columns by {@link VerticalSlashIndex}),
 * A-shape-like,
 * block-sparse-like, a mix of slot kinds (empty, ranges only, columns only, both), and scattered short ranges.
 */
final class TestIndexes {
    private TestIndexes() {
    }

    static SparseIndex dense(int firstHead, int heads, int length) {
        SparseIndex index = new SparseIndex(firstHead, heads, length, 1, 0);
        for (int h = 0; h < heads; h++) {
            for (int b = 0; b < index.queryBlocks(); b++) index.addRange(h, b, 0, index.blockEnd(b));
        }
        return index;
    }

    /** Every causal key of every slot as a gathered column (no range): the dense index, all of it gathered. */
    static SparseIndex denseColumns(int firstHead, int heads, int length) {
        SparseIndex index = new SparseIndex(firstHead, heads, length, 1, length);
        for (int h = 0; h < heads; h++) {
            for (int b = 0; b < index.queryBlocks(); b++) {
                for (int key = 0; key < index.blockEnd(b); key++) index.addColumn(h, b, key);
            }
        }
        return index;
    }

    /** Per head: the nearest diagonals plus random ones, the first columns plus random ones. */
    static SparseIndex verticalSlash(Random random, int firstHead, int heads, int length, int slash, int vertical) {
        int queryBlocks = SparseIndex.queryBlocks(length);
        int[][] diagonals = new int[heads][];
        int[][] columns = new int[heads][];
        for (int h = 0; h < heads; h++) {
            diagonals[h] = pick(random, length, Math.min(slash, length), Math.min(8, length));
            columns[h] = pick(random, length, Math.min(vertical, length), Math.min(4, length));
        }
        int maxColumns = Math.min(vertical, length);
        SparseIndex index = new SparseIndex(firstHead, heads, length, queryBlocks, maxColumns);
        for (int h = 0; h < heads; h++) new VerticalSlashIndex(columns[h], diagonals[h], length).writeTo(index, h);
        return index;
    }

    /** The sink blocks and a window of key blocks ending at the query block. */
    static SparseIndex aShape(int firstHead, int heads, int length, int sinkTokens, int localTokens) {
        int queryBlocks = SparseIndex.queryBlocks(length);
        SparseIndex index = new SparseIndex(firstHead, heads, length, 2, 0);
        for (int h = 0; h < heads; h++) {
            for (int b = 0; b < queryBlocks; b++) {
                boolean[] kept = new boolean[b + 1];
                for (int c = 0; c <= b && c * SparseIndex.BLOCK < sinkTokens; c++) kept[c] = true;
                int from = Math.max(0, b * SparseIndex.BLOCK - localTokens + 1) / SparseIndex.BLOCK;
                for (int c = from; c <= b; c++) kept[c] = true;
                addRuns(index, h, b, kept);
            }
        }
        return index;
    }

    /**
     * Three slash bands a row, exact per query block as the index assembly writes them (keys {@code [row - offset -
     * width, row - offset]} over the block's rows): the local window (offset 0, 70 keys), and bands at offsets 200
     * (130 keys) and 450 (100 keys). Blocks 2p + 1 take blocks 2p's tiles 64 keys further: a cluster pair shares all
     * of a band's tiles but its first (block 2p's alone) and its last (block 2p + 1's), and block 2p + 1's last tile of
     * one band pairs with block 2p's first of the next ({@link PairedTiles#clusterRangeSteps}).
     */
    static SparseIndex slashRuns(int firstHead, int heads, int length) {
        int queryBlocks = SparseIndex.queryBlocks(length);
        int[][] bands = {{450, 100}, {200, 130}, {0, 70}};
        SparseIndex index = new SparseIndex(firstHead, heads, length, bands.length, 0);
        for (int h = 0; h < heads; h++) {
            for (int b = 0; b < queryBlocks; b++) {
                int first = b * SparseIndex.BLOCK;
                int last = Math.min(first + SparseIndex.BLOCK, length) - 1;
                for (int[] band : bands) {
                    int start = Math.max(0, first - band[0] - band[1]);
                    int end = last - band[0] + 1;
                    if (end > start) index.addRange(h, b, start, end);
                }
            }
        }
        return index;
    }

    /** Key block 0, the diagonal block and random others below it. */
    static SparseIndex blockSparse(Random random, int firstHead, int heads, int length, double density) {
        int queryBlocks = SparseIndex.queryBlocks(length);
        SparseIndex index = new SparseIndex(firstHead, heads, length, queryBlocks, 0);
        for (int h = 0; h < heads; h++) {
            for (int b = 0; b < queryBlocks; b++) {
                boolean[] kept = new boolean[b + 1];
                for (int c = 0; c <= b; c++) kept[c] = c == 0 || c == b || random.nextDouble() < density;
                addRuns(index, h, b, kept);
            }
        }
        return index;
    }

    /**
     * Slots of every kind at random: empty, ranges only (never the diagonal block, so some rows see nothing),
     * columns only (up to 200, several gathered tiles), or both.
     */
    static SparseIndex mixed(Random random, int firstHead, int heads, int length) {
        int queryBlocks = SparseIndex.queryBlocks(length);
        SparseIndex index = new SparseIndex(firstHead, heads, length, queryBlocks, 200);
        for (int h = 0; h < heads; h++) {
            for (int b = 0; b < queryBlocks; b++) {
                int kind = random.nextInt(4);
                boolean[] kept = new boolean[b + 1];
                if (kind == 1 || kind == 3) {
                    for (int c = 0; c <= b; c++) kept[c] = random.nextDouble() < 0.4;
                    if (kind == 1) kept[b] = false;
                }
                addRuns(index, h, b, kept);
                if (kind >= 2) {
                    int m1 = index.blockEnd(b);
                    int[] keys = pick(random, m1, Math.min(m1, 1 + random.nextInt(200)), 0);
                    for (int j : keys) if (!index.insideRange(h, b, j)) index.addColumn(h, b, j);
                }
            }
        }
        return index;
    }

    /**
     * Many short ranges per slot: runs of 1 to 8 keys with gaps of 1 to 8 from key 0 up to the block's end, so that
     * a slot past the first few query blocks holds more than a warp's 32 ranges (the Hopper kernel counts its range
     * tiles 32 ranges at a time), and every range is a tile of its own, mostly masked.
     */
    static SparseIndex scattered(Random random, int firstHead, int heads, int length) {
        int queryBlocks = SparseIndex.queryBlocks(length);
        SparseIndex index = new SparseIndex(firstHead, heads, length, length, 0);
        for (int h = 0; h < heads; h++) {
            for (int b = 0; b < queryBlocks; b++) {
                int m1 = index.blockEnd(b);
                for (int start = random.nextInt(8); start < m1; ) {
                    int end = Math.min(m1, start + 1 + random.nextInt(8));
                    index.addRange(h, b, start, end);
                    start = end + 1 + random.nextInt(8);
                }
            }
        }
        return index;
    }

    /** Kept key blocks, merged into runs, as ranges clipped to the block's end. */
    private static void addRuns(SparseIndex index, int h, int b, boolean[] kept) {
        int m1 = index.blockEnd(b);
        for (int c = 0; c < kept.length; c++) {
            if (!kept[c]) continue;
            int c1 = c;
            while (c1 + 1 < kept.length && kept[c1 + 1]) c1++;
            index.addRange(h, b, c * SparseIndex.BLOCK, Math.min((c1 + 1) * SparseIndex.BLOCK, m1));
            c = c1;
        }
    }

    /** {@code count} distinct values of [0, bound), ascending: the first {@code forced}, then random ones. */
    /** {@code count} distinct values below {@code bound}, ascending, 0 .. forced - 1 among them. */
    static int[] pick(Random random, int bound, int count, int forced) {
        TreeSet<Integer> chosen = new TreeSet<>();
        for (int i = 0; i < forced; i++) chosen.add(i);
        while (chosen.size() < count) chosen.add(random.nextInt(bound));
        return chosen.stream().mapToInt(Integer::intValue).toArray();
    }

    static String describe(SparseIndex index) {
        int[] counts = index.columnCountArray();
        return index + ", columns per block " + Arrays.stream(counts).summaryStatistics();
    }
}
