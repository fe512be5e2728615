package io.minference.sparse.gpu;

import io.minference.sparse.SparseIndex;
import io.minference.sparse.pattern.VerticalSlashIndex;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;
import java.util.TreeSet;
import java.util.function.IntPredicate;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link IndexAssembly}'s vertical-slash algorithm emulated on the CPU, statement by statement as the kernels emit
 * it ({@link VerticalSlashRuns}: a block walking the head's kept diagonals in chunks, a block scan numbering the runs,
 * each kept diagonal's bit set; then per query block a binary search for the runs that cross it, each written as a
 * range from the right, and the covered columns told by three words of the bitmap), against
 * {@link VerticalSlashIndex} on random selections: the kernels' logic checked without a GPU. Keep it in step with
 * the kernels.
 */
class IndexAssemblyEmulationTest {
    private static final int THREADS = IndexAssembly.THREADS;

    /** The kernel's Runs: the head's runs of kept diagonals and the key windows they cover in block [m0, m1). */
    private record Runs(int[][] pairs, int m0, int m1) {
        int start(int delta) {
            return m0 > delta ? m0 - delta : 0;
        }

        int end(int delta) {
            return Math.min(m0 + 64 - delta, m1);
        }

        /** The first run (or the count) for which the property holds, false then true along the runs. */
        int firstWhere(IntPredicate holds) {
            int low = 0, high = pairs.length;
            while (low < high) {
                int middle = (low + high) >>> 1;
                boolean after = holds.test(middle);
                low = after ? low : middle + 1;
                high = after ? middle : high;
            }
            return low;
        }

        int crossing() {
            return firstWhere(r -> pairs[r][0] >= m1);
        }

    }

    /** The kernel's covered(): a bit of the kept diagonals' bitmap in [max(0, m0 - j), min(m0 + 63 - j, m1 - 1)]. */
    private static boolean covered(int[] diagonalBits, int m0, int m1, int j) {
        int low = m0 > j ? m0 - j : 0;
        int high = Math.min(m0 + 63 - j, m1 - 1);
        int firstWord = low >>> 5, lastWord = high >>> 5;
        int first = diagonalBits[firstWord];
        int middle = diagonalBits[Math.min(firstWord + 1, lastWord)];
        int last = diagonalBits[lastWord];
        int from = -1 << (low & 31);
        int to = -1 >>> (31 - (high & 31));
        boolean oneWord = firstWord == lastWord;
        int inFirst = first & from & (oneWord ? to : -1);
        int inMiddle = lastWord - firstWord == 2 ? middle : 0;
        int inLast = oneWord ? 0 : last & to;
        return (inFirst | inMiddle | inLast) != 0;
    }

    /** The bitmap {@link VerticalSlashRuns} ors the kept diagonals into: bit δ of word δ / 32. */
    private static int[] bitmap(int[] diagonals, int length) {
        int[] bits = new int[VerticalSlashRuns.bitWords(length)];
        for (int delta : diagonals) bits[delta >>> 5] |= 1 << (delta & 31);
        return bits;
    }

    /** {@link VerticalSlashRuns}: the head's runs, (first, last) kept diagonal, ascending. */
    private static int[][] runs(int[] diagonals) {
        int count = diagonals.length;
        int last = Math.max(count, 1) - 1;
        int[][] runs = new int[count][2];
        int runsBefore = 0;
        for (int base = 0; base < count; base += THREADS) {
            int prefix = 0;
            int total = 0;
            for (int tid = 0; tid < THREADS; tid++) {
                int i = base + tid;
                boolean inList = i < count;
                int at = Math.min(i, last);
                int delta = diagonals[at];
                int previous = diagonals[Math.max(at, 1) - 1];
                int next = diagonals[Math.min(i + 1, last)];
                boolean starts = inList && (i == 0 || delta - previous > VerticalSlashRuns.GAP);
                boolean ends = inList && (i == last || next - delta > VerticalSlashRuns.GAP);
                int run = runsBefore + prefix + (starts ? 1 : 0) - 1;
                if (starts) runs[run][0] = delta;
                if (ends) runs[run][1] = delta;
                prefix += starts ? 1 : 0;
            }
            for (int tid = 0; tid < THREADS; tid++) {
                int i = base + tid;
                if (i < count && (i == 0 || diagonals[i] - diagonals[i - 1] > VerticalSlashRuns.GAP)) total++;
            }
            runsBefore += total;
        }
        return Arrays.copyOf(runs, runsBefore);
    }

    /** The slot's ranges and columns as the two passes write them, from the head's runs. */
    private static void assemble(int[][] headRuns, int[] diagonalBits, int[] columns, int length, int b,
                                 SparseIndex into) {
        int m0 = 64 * b;
        int m1 = Math.min(m0 + 64, length);
        Runs window = new Runs(headRuns, m0, m1);
        int runs = window.crossing();
        int[] starts = new int[runs], ends = new int[runs];
        for (int tid = 0; tid < THREADS; tid++) {
            for (int r = tid; r < runs; r += THREADS) {
                int at = runs - 1 - r;
                starts[at] = window.start(headRuns[r][1]);
                ends[at] = window.end(headRuns[r][0]);
            }
        }
        for (int r = 0; r < runs; r++) into.addRange(0, b, starts[r], ends[r]);
        for (int j : columns) {
            if (j >= m1) break;
            if (!covered(diagonalBits, m0, m1, j)) into.addColumn(0, b, j);
        }
    }

    @Test
    void theKernelsAlgorithmBuildsTheReferenceIndex() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        for (int length : new int[] {1, 63, 64, 65, 250, 1000, 4099, 20000}) {
            for (int trial = 0; trial < 4; trial++) {
                int[] diagonals = pick(random, length, trial == 0 ? length : 1 + random.nextInt(Math.min(length, 900)),
                        trial == 3 ? 300 : 1);
                int[] columns = pick(random, length, 1 + random.nextInt(Math.min(length, 300)), 1);
                VerticalSlashIndex selection = new VerticalSlashIndex(columns, diagonals, length);
                var capacity = selection.capacity();
                SparseIndex expected = new SparseIndex(0, 1, length, capacity.maxRanges(), capacity.maxColumns());
                selection.writeTo(expected, 0);
                SparseIndex emulated = new SparseIndex(0, 1, length, capacity.maxRanges(), capacity.maxColumns());
                int[][] headRuns = runs(diagonals);
                int[] diagonalBits = bitmap(diagonals, length);
                for (int b = 0; b < emulated.queryBlocks(); b++) {
                    assemble(headRuns, diagonalBits, columns, length, b, emulated);
                }
                String what = "L = " + length + ", trial " + trial + ", seed " + seed;
                for (int b = 0; b < expected.queryBlocks(); b++) {
                    assertEquals(expected.rangeCount(0, b), emulated.rangeCount(0, b), what + ", block " + b);
                    for (int r = 0; r < expected.rangeCount(0, b); r++) {
                        assertEquals(expected.rangeStart(0, b, r), emulated.rangeStart(0, b, r), what + ", block " + b);
                        assertEquals(expected.rangeEnd(0, b, r), emulated.rangeEnd(0, b, r), what + ", block " + b);
                    }
                }
                assertEquals(true, expected.sameKeys(emulated), what);
            }
        }
    }

    /** {@code count} distinct values of [0, bound), ascending, in runs of {@code run} consecutive values. */
    private static int[] pick(Random random, int bound, int count, int run) {
        TreeSet<Integer> chosen = new TreeSet<>();
        while (chosen.size() < Math.min(count, bound)) {
            int start = random.nextInt(bound);
            for (int i = start; i < Math.min(bound, start + run) && chosen.size() < count; i++) chosen.add(i);
        }
        return chosen.stream().mapToInt(Integer::intValue).toArray();
    }
}
