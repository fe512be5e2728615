package io.minference.bench.gpu;

import io.minference.sparse.SparseIndex;
import io.minference.sparse.pattern.VerticalSlashIndex;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Vertical-slash indices of the default budget's shape (1000 columns, 6096 diagonals, clamped to the length) made
 * on the host from seeded random choices instead of an estimate, for timing the sparse kernel. Per head: the 100
 * nearest diagonals plus random ones, the first 30 columns plus random ones, turned into ranges and columns by
 * {@link VerticalSlashIndex} (each kept diagonal's 64 keys per query block, merged into ranges, the columns outside
 * them kept). The random diagonals are either uniform over the prompt
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

    /**
     * What the random diagonals and columns look like: the default budget's shape with banded or uniform diagonals,
     * and two diagnostic shapes that put almost all of a slot's tiles in one kind, so that a gathered column tile's
     * cost can be told from a range tile's: {@code COLUMNS} (the diagonal only, and 4 times the default's columns)
     * and {@code RANGES} (the default's diagonals and columns as uniform diagonals, no column).
     */
    public enum Family {
        BANDED, UNIFORM, COLUMNS, RANGES;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The index of {@code heads} heads from head 0 in the shape of {@code family}, seeded. */
    public static SparseIndex build(int heads, int length, Family family, long seed) {
        int[][] diagonals = new int[heads][];
        int[][] columns = new int[heads][];
        SplittableRandom random = new SplittableRandom(seed);
        for (int h = 0; h < heads; h++) {
            SplittableRandom forDiagonals = random.split();
            SplittableRandom forColumns = random.split();
            diagonals[h] = switch (family) {
                case BANDED, UNIFORM -> diagonals(forDiagonals, length, family == Family.BANDED);
                case COLUMNS -> new int[] {0};
                case RANGES -> pick(forDiagonals, length, Math.min(SLASH + VERTICAL, length),
                        Math.min(NEAREST_DIAGONALS, length), 1);
            };
            int columnCount = switch (family) {
                case BANDED, UNIFORM -> VERTICAL;
                case COLUMNS -> 4 * VERTICAL;
                case RANGES -> 0;
            };
            columns[h] = pick(forColumns, length, Math.min(columnCount, length),
                    Math.min(Math.min(FIRST_COLUMNS, columnCount), length), 1);
        }
        return fromDiagonalsAndColumns(length, diagonals, columns);
    }

    /**
     * The index of the kept diagonals and columns of each head (ascending, distinct, in [0, length)), by
     * {@link VerticalSlashIndex}'s rule, with room for as many ranges as the busiest block has (each head is first
     * written alone to count them, then again and copied in).
     */
    static SparseIndex fromDiagonalsAndColumns(int length, int[][] diagonals, int[][] columns) {
        int heads = diagonals.length;
        int queryBlocks = SparseIndex.queryBlocks(length);
        VerticalSlashIndex[] selections = new VerticalSlashIndex[heads];
        for (int h = 0; h < heads; h++) selections[h] = new VerticalSlashIndex(columns[h], diagonals[h], length);
        int maxRanges = IntStream.range(0, heads).parallel()
                .map(h -> Arrays.stream(alone(selections[h]).rangeCountArray()).max().orElse(1)).max().orElse(1);
        int maxColumns = Arrays.stream(columns).mapToInt(c -> c.length).max().orElse(0);
        SparseIndex index = new SparseIndex(0, heads, length, Math.max(1, maxRanges), maxColumns);
        IntStream.range(0, heads).parallel().forEach(h -> {
            SparseIndex one = alone(selections[h]);
            for (int b = 0; b < queryBlocks; b++) {
                int slot = h * queryBlocks + b;
                int ranges = one.rangeCount(0, b);
                System.arraycopy(one.rangeArray(), b * one.maxRanges() * 2, index.rangeArray(),
                        slot * index.maxRanges() * 2, 2 * ranges);
                index.rangeCountArray()[slot] = ranges;
                int count = one.columnCount(0, b);
                System.arraycopy(one.columnArray(), b * one.maxColumns(), index.columnArray(), slot * maxColumns,
                        count);
                index.columnCountArray()[slot] = count;
            }
        });
        return index;
    }

    private static SparseIndex alone(VerticalSlashIndex selection) {
        var capacity = selection.capacity();
        SparseIndex one = new SparseIndex(0, 1, selection.length(), capacity.maxRanges(), capacity.maxColumns());
        selection.writeTo(one, 0);
        return one;
    }

    static int[] diagonals(SplittableRandom random, int length, boolean banded) {
        int count = Math.min(SLASH, length);
        int nearest = Math.min(NEAREST_DIAGONALS, length);
        return pick(random, length, count, nearest, banded ? BAND : 1);
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

    /** 64-key tiles the kernel computes ({@link SparseIndex#tiles(int)}), over all heads. */
    public static long keyTiles(SparseIndex index) {
        return keyTiles(index, SparseIndex.BLOCK);
    }

    /**
     * The key tiles a kernel that copies ranges in boxes of {@code rangeBox} keys computes over every head
     * ({@link SparseIndex#boxedTiles(int, int)}).
     */
    public static long keyTiles(SparseIndex index, int rangeBox) {
        return IntStream.range(0, index.heads()).parallel().mapToLong(h -> index.boxedTiles(h, rangeBox)).sum();
    }
}
