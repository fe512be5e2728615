package io.minference.bench.gpu;

import io.minference.sparse.SparseIndex;

import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Vertical-slash indices of the default budget's shape (1000 columns, 6096 diagonals, clamped to the length) made
 * on the host from seeded random choices instead of an estimate, for timing the sparse kernel. Per head: the 100
 * nearest diagonals plus random ones, the first 30 columns plus random ones, turned into ranges and columns by the
 * rule of docs/sparse-attention.md (each kept diagonal's key interval rounded out to key blocks, runs of blocks
 * merged into ranges, the columns outside them kept). The random diagonals are either uniform over the prompt
 * (which at long lengths touches almost every key block: the worst case, as for random Q/K) or in bands of 64
 * consecutive diagonals at uniform offsets (slash lines come in bands in real attention; this is the shape that
 * makes vertical-slash pay).
 */
public final class SyntheticVerticalSlash {
    public static final int VERTICAL = 1000;
    public static final int SLASH = 6096;
    private static final int NEAREST_DIAGONALS = 100;
    private static final int FIRST_COLUMNS = 30;
    private static final int BAND = 64;
    private static final int B = SparseIndex.BLOCK;

    private SyntheticVerticalSlash() {
    }

    /** The index of {@code heads} heads from head 0, seeded. */
    public static SparseIndex build(int heads, int length, boolean banded, long seed) {
        int[][] diagonals = new int[heads][];
        int[][] columns = new int[heads][];
        SplittableRandom random = new SplittableRandom(seed);
        for (int h = 0; h < heads; h++) {
            diagonals[h] = diagonals(random.split(), length, banded);
            columns[h] = pick(random.split(), length, Math.min(VERTICAL, length), Math.min(FIRST_COLUMNS, length), 1);
        }
        return fromDiagonalsAndColumns(length, diagonals, columns);
    }

    /**
     * The index of the kept diagonals and columns of each head (ascending, distinct, in [0, length)), by the rule of
     * docs/sparse-attention.md.
     */
    static SparseIndex fromDiagonalsAndColumns(int length, int[][] diagonals, int[][] columns) {
        int heads = diagonals.length;
        int queryBlocks = SparseIndex.queryBlocks(length);
        // First pass: the kept key blocks of every slot, to size the ranges to the busiest block.
        boolean[][][] kept = new boolean[heads][queryBlocks][];
        int maxRanges = IntStream.range(0, heads * queryBlocks).parallel().map(slot -> {
            int h = slot / queryBlocks;
            int b = slot % queryBlocks;
            boolean[] blocks = keptBlocks(diagonals[h], b, Math.min((b + 1) * B, length));
            kept[h][b] = blocks;
            return runs(blocks);
        }).max().orElse(1);
        int maxColumns = java.util.Arrays.stream(columns).mapToInt(c -> c.length).max().orElse(0);
        SparseIndex index = new SparseIndex(0, heads, length, Math.max(1, maxRanges), maxColumns);
        int[] columnCounts = index.columnCountArray();
        int[] columnArray = index.columnArray();
        IntStream.range(0, heads).parallel().forEach(h -> {
            for (int b = 0; b < queryBlocks; b++) {
                boolean[] blocks = kept[h][b];
                int m1 = index.blockEnd(b);
                for (int c = 0; c < blocks.length; c++) {
                    if (!blocks[c]) continue;
                    int c1 = c;
                    while (c1 + 1 < blocks.length && blocks[c1 + 1]) c1++;
                    index.addRange(h, b, c * B, Math.min((c1 + 1) * B, m1));
                    c = c1;
                }
                // Written straight into the flat arrays: SparseIndex.addColumn checks every range per column,
                // too slow for 32 heads x 2048 blocks x 1000 columns. Inside a range means inside a kept block.
                int slot = h * queryBlocks + b;
                int n = 0;
                for (int j : columns[h]) {
                    if (j >= m1) break;
                    if (!blocks[j / B]) columnArray[slot * maxColumns + n++] = j;
                }
                columnCounts[slot] = n;
            }
            kept[h] = null;
        });
        return index;
    }

    static int[] diagonals(SplittableRandom random, int length, boolean banded) {
        int count = Math.min(SLASH, length);
        int nearest = Math.min(NEAREST_DIAGONALS, length);
        return pick(random, length, count, nearest, banded ? BAND : 1);
    }

    /** Key blocks touched by the diagonals below m1, for query block b (rows [64b, m1)). */
    private static boolean[] keptBlocks(int[] diagonals, int b, int m1) {
        boolean[] blocks = new boolean[b + 1];
        int m0 = b * B;
        for (int delta : diagonals) {
            if (delta >= m1) break;
            int lo = Math.max(0, m0 - delta) / B;
            int hi = (m1 - delta - 1) / B;
            for (int c = lo; c <= hi; c++) blocks[c] = true;
        }
        return blocks;
    }

    private static int runs(boolean[] blocks) {
        int n = 0;
        for (int c = 0; c < blocks.length; c++) {
            if (blocks[c] && (c == 0 || !blocks[c - 1])) n++;
        }
        return n;
    }

    /**
     * {@code count} distinct values of [0, bound), ascending: [0, forced), then runs of {@code run} consecutive
     * values at uniform random starts until the count is reached.
     */
    static int[] pick(SplittableRandom random, int bound, int count, int forced, int run) {
        boolean[] chosen = new boolean[bound];
        int n = 0;
        for (int i = 0; i < forced; i++, n++) chosen[i] = true;
        while (n < count) {
            int start = random.nextInt(bound);
            for (int i = start; i < Math.min(bound, start + run) && n < count; i++) {
                if (!chosen[i]) {
                    chosen[i] = true;
                    n++;
                }
            }
        }
        int[] values = new int[count];
        for (int i = 0, at = 0; i < bound; i++) if (chosen[i]) values[at++] = i;
        return values;
    }

    /** Query-key pairs the index attends (causal mask applied), over all its heads. */
    public static long attendedPairs(SparseIndex index) {
        return IntStream.range(0, index.heads() * index.queryBlocks()).parallel().mapToLong(slot -> {
            int h = slot / index.queryBlocks();
            int b = slot % index.queryBlocks();
            int m0 = b * B;
            int m1 = index.blockEnd(b);
            long pairs = 0;
            for (int r = 0; r < index.rangeCount(h, b); r++) {
                int s = index.rangeStart(h, b, r);
                int e = index.rangeEnd(h, b, r);
                for (int i = m0; i < m1; i++) pairs += Math.max(0, Math.min(e, i + 1) - s);
            }
            for (int c = 0; c < index.columnCount(h, b); c++) pairs += m1 - Math.max(index.column(h, b, c), m0);
            return pairs;
        }).sum();
    }

    /** 64-key tiles the kernel computes: each range's tiles, then the columns' gathered tiles, over all slots. */
    public static long keyTiles(SparseIndex index) {
        long tiles = 0;
        for (int h = 0; h < index.heads(); h++) {
            for (int b = 0; b < index.queryBlocks(); b++) {
                for (int r = 0; r < index.rangeCount(h, b); r++) {
                    tiles += (index.rangeEnd(h, b, r) - index.rangeStart(h, b, r) + B - 1) / B;
                }
                tiles += (index.columnCount(h, b) + B - 1) / B;
            }
        }
        return tiles;
    }
}
