package io.minference.sparse.pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.sparse.SparseIndex;
import java.util.BitSet;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The vertical-slash index against its definition, key by key: in query block [m0, m0 + 64) cut at m1, the ranges
 * hold exactly the union of the kept diagonals' windows [max(0, m0 - δ), min(m0 + 64 - δ, m1)), merged, and the
 * columns exactly the kept ones below m1 outside that union; the capacity the selection states is never exceeded
 * (the index refuses a range past it).
 */
class VerticalSlashIndexTest {
    @Test
    void rangesAreTheUnionOfTheDiagonalWindowsOnRandomSelections() {
        long seed = System.nanoTime();
        System.out.println("VerticalSlashIndexTest seed " + seed);
        Random random = new Random(seed);
        for (int length : new int[] {1, 2, 63, 64, 65, 127, 130, 700, 2000, 4097}) {
            for (int trial = 0; trial < 6; trial++) {
                int[] diagonals = switch (trial) {
                    case 0 -> every(length, 1);
                    case 1 -> every(length, 65);   // windows a key apart: the most runs a block can have
                    case 2 -> every(length, 64);   // windows touching: one run
                    default -> pick(random, length, 1 + random.nextInt(Math.min(length, 300)));
                };
                int[] columns = pick(random, length, 1 + random.nextInt(Math.min(length, 200)));
                check(new VerticalSlashIndex(columns, diagonals, length), "length " + length + " trial " + trial
                        + " seed " + seed);
            }
        }
    }

    private static void check(VerticalSlashIndex selection, String what) {
        int length = selection.length();
        IndexCapacity capacity = selection.capacity();
        SparseIndex index = new SparseIndex(0, 1, length, capacity.maxRanges(), capacity.maxColumns());
        selection.writeTo(index, 0);
        for (int b = 0; b < index.queryBlocks(); b++) {
            int m0 = b * SparseIndex.BLOCK;
            int m1 = index.blockEnd(b);
            BitSet expected = new BitSet();
            for (int delta : selection.diagonals()) {
                if (delta >= m1) break;
                expected.set(Math.max(0, m0 - delta), Math.min(m0 + 64 - delta, m1));
            }
            BitSet ranges = new BitSet();
            for (int r = 0; r < index.rangeCount(0, b); r++) {
                int start = index.rangeStart(0, b, r);
                int end = index.rangeEnd(0, b, r);
                if (r > 0) assertTrue(start > index.rangeEnd(0, b, r - 1), what + ": ranges apart, block " + b);
                ranges.set(start, end);
            }
            assertEquals(expected, ranges, what + ": keys of block " + b);
            TreeSet<Integer> columns = new TreeSet<>();
            for (int j : selection.columns()) if (j < m1 && !expected.get(j)) columns.add(j);
            assertEquals(columns.size(), index.columnCount(0, b), what + ": columns of block " + b);
            int c = 0;
            for (int j : columns) assertEquals(j, index.column(0, b, c++), what + ": column of block " + b);
        }
    }

    private static int[] every(int length, int step) {
        return IntStream.iterate(0, d -> d < length, d -> d + step).toArray();
    }

    private static int[] pick(Random random, int bound, int count) {
        TreeSet<Integer> chosen = new TreeSet<>();
        while (chosen.size() < count) chosen.add(random.nextInt(bound));
        return chosen.stream().mapToInt(Integer::intValue).toArray();
    }
}
