package io.minference.bench.gpu;

import io.minference.sparse.SparseIndex;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The benchmark's synthetic vertical-slash index against a row-by-row construction from the doc's rule (exact
 * diagonal windows).
 */
class SyntheticVerticalSlashTest {
    @ParameterizedTest(name = "length {0}")
    @ValueSource(ints = {1, 63, 64, 130, 1000, 3001})
    void followsTheIndexRuleRowByRow(int length) {
        SplittableRandom random = new SplittableRandom(length);
        int heads = 3;
        int[][] diagonals = new int[heads][];
        int[][] columns = new int[heads][];
        for (int h = 0; h < heads; h++) {
            diagonals[h] = SyntheticVerticalSlash.pick(random, length, Math.min(40, length), Math.min(3, length),
                    h == 0 ? 1 : 16);
            columns[h] = SyntheticVerticalSlash.pick(random, length, Math.min(50, length), Math.min(2, length), 1);
        }
        SparseIndex index = SyntheticVerticalSlash.fromDiagonalsAndColumns(length, diagonals, columns);
        SparseIndex expected = rowByRow(length, diagonals, columns);
        assertTrue(index.sameKeys(expected), () -> index + " differs from " + expected);

        long pairs = 0;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < length; i++) pairs += expected.keysAttended(h, i);
        }
        assertEquals(pairs, SyntheticVerticalSlash.attendedPairs(index));
    }

    @Test
    void everyDiagonalMakesTheCausalIndex() {
        int length = 130;
        int[][] all = {IntStream.range(0, length).toArray()};
        SparseIndex index = SyntheticVerticalSlash.fromDiagonalsAndColumns(length, all, new int[][] {{}});
        assertEquals(1, index.maxRanges());
        assertEquals(128, index.rangeEnd(0, 1, 0));
        assertEquals(130, index.rangeEnd(0, 2, 0));
        assertEquals(1 + 2 + 3, SyntheticVerticalSlash.keyTiles(index));
        assertEquals(130L * 131 / 2, SyntheticVerticalSlash.attendedPairs(index));
    }

    @Test
    void theDefaultBudgetKeepsTheForcedDiagonalsAndColumns() {
        int length = 20000;
        SparseIndex index = SyntheticVerticalSlash.build(2, length, SyntheticVerticalSlash.Family.BANDED, 5);
        assertEquals(SyntheticVerticalSlash.VERTICAL, index.maxColumns());
        int[] diagonals = SyntheticVerticalSlash.diagonals(new SplittableRandom(9), length, true);
        assertEquals(SyntheticVerticalSlash.SLASH, diagonals.length);
        assertArrayEquals(IntStream.range(0, 100).toArray(), Arrays.copyOf(diagonals, 100));
        for (int h = 0; h < 2; h++) {
            for (int b = 0; b < index.queryBlocks(); b++) {
                int block = b;
                int head = h;
                // the 100 nearest diagonals reach the query block's own key block and the one before it
                assertTrue(index.insideRange(h, b, b * 64), () -> "diagonal block of " + head + ", " + block);
                for (int j = 0; j < Math.min(30, index.blockEnd(b)); j++) {
                    int key = j;
                    boolean asColumn = IntStream.range(0, index.columnCount(h, b))
                            .anyMatch(c -> index.column(head, block, c) == key);
                    assertTrue(asColumn || index.insideRange(h, b, j), () -> "first column " + key);
                }
            }
        }
    }

    /**
     * Every row's diagonal keys marked in the query block's 64-row window, runs of marked keys as ranges, then
     * columns.
     */
    private static SparseIndex rowByRow(int length, int[][] diagonals, int[][] columns) {
        int heads = diagonals.length;
        int queryBlocks = SparseIndex.queryBlocks(length);
        SparseIndex index = new SparseIndex(0, heads, length, length, 50);
        for (int h = 0; h < heads; h++) {
            for (int b = 0; b < queryBlocks; b++) {
                int m1 = index.blockEnd(b);
                boolean[] marked = new boolean[m1];
                for (int i = b * 64; i < b * 64 + 64; i++) {
                    for (int delta : diagonals[h]) {
                        if (delta < m1 && i - delta >= 0 && i - delta < m1) marked[i - delta] = true;
                    }
                }
                for (int j = 0; j < m1; j++) {
                    if (!marked[j]) continue;
                    int end = j;
                    while (end < m1 && marked[end]) end++;
                    index.addRange(h, b, j, end);
                    j = end;
                }
                for (int j : columns[h]) {
                    if (j < m1 && !marked[j]) index.addColumn(h, b, j);
                }
            }
        }
        return index;
    }
}
