package io.minference.sparse.gpu;

import io.minference.sparse.SparseIndex;
import io.minference.sparse.pattern.VerticalSlashIndex;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link IndexAssembly}'s vertical-slash algorithm emulated on the CPU, statement by statement as the kernel emits
 * it (a block of {@link IndexAssembly#THREADS} threads walking the kept diagonals in chunks, block scans numbering
 * the runs, the counting pass then the writing pass, the binary search for covered columns), against
 * {@link VerticalSlashIndex} on random selections: the kernel's logic checked without a GPU (the inverted "ends its
 * run" test of 2026-12-04 fails here). Keep it in step with the kernel.
 */
class IndexAssemblyEmulationTest {
    private static final int THREADS = IndexAssembly.THREADS;

    /** The kernel's Window: the kept diagonals and the windows they cover in query block [m0, m1). */
    private record Window(int[] diagonals, int count, int m0, int m1) {
        int diagonal(int i) {
            return diagonals[Math.min(i, count - 1)];
        }

        boolean below(int i) {
            return i < count && diagonal(i) < m1;
        }

        int start(int delta) {
            return m0 > delta ? m0 - delta : 0;
        }

        int end(int delta) {
            return Math.min(m0 + 64 - delta, m1);
        }

        boolean startsRun(int i) {
            int previous = diagonal(i > 0 ? i - 1 : 0);
            return below(i) && (i == 0 || end(diagonal(i)) < start(previous));
        }

        boolean covers(int j) {
            int first = m0 > j ? m0 - j : 0;
            int low = 0, high = count;
            while (low < high) {
                int middle = (low + high) >>> 1;
                boolean before = diagonals[middle] < first;
                low = before ? middle + 1 : low;
                high = before ? high : middle;
            }
            int found = diagonal(low);
            return low < count && found < Math.min(m0 + 64 - j, m1);
        }
    }

    /** The slot's ranges and columns as the two passes write them. */
    private static void assemble(int[] diagonals, int[] columns, int length, int b, SparseIndex into) {
        int m0 = 64 * b;
        int m1 = Math.min(m0 + 64, length);
        Window window = new Window(diagonals, diagonals.length, m0, m1);
        int runs = 0;
        for (int base = 0; window.below(base); base += THREADS) {
            for (int tid = 0; tid < THREADS; tid++) if (window.startsRun(base + tid)) runs++;
        }
        int[] starts = new int[runs], ends = new int[runs];
        int runsBefore = 0;
        for (int base = 0; window.below(base); base += THREADS) {
            int prefix = 0;
            int total = 0;
            for (int tid = 0; tid < THREADS; tid++) if (window.startsRun(base + tid)) total++;
            for (int tid = 0; tid < THREADS; tid++) {
                int i = base + tid;
                boolean begins = window.startsRun(i);
                int next = i + 1;
                boolean finishes = window.below(i) && (window.startsRun(next) || !window.below(next));
                int start = begins ? 1 : 0;
                int r = runs - (runsBefore + prefix + start);
                int delta = window.diagonal(i);
                if (begins && r >= 0 && r < runs) ends[r] = window.end(delta);
                if (finishes && r >= 0 && r < runs) starts[r] = window.start(delta);
                prefix += start;
            }
            runsBefore += total;
        }
        for (int r = 0; r < runs; r++) into.addRange(0, b, starts[r], ends[r]);
        for (int j : columns) {
            if (j >= m1) break;
            if (!window.covers(j)) into.addColumn(0, b, j);
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
                for (int b = 0; b < emulated.queryBlocks(); b++) assemble(diagonals, columns, length, b, emulated);
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
