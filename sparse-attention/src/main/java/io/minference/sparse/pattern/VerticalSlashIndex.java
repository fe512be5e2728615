package io.minference.sparse.pattern;

import io.minference.sparse.SparseIndex;
import java.util.Arrays;

/**
 * Vertical-slash index building: kept key columns and diagonals become, per query block b with rows
 * {@code [m0, m0 + 64)} (the last block cut at {@code m1 = min(m0 + 64, length)}), ranges and columns:
 * <ul>
 *   <li>each kept diagonal δ &lt; m1 covers exactly the 64 keys it crosses in the block's 64-row window,
 *       {@code [max(0, m0 - δ), min(m0 + 64 - δ, m1))}, as MInference's index builder does (no rounding out to
 *       64-key blocks); the union of those intervals, merged where they overlap or touch, gives the ranges, which
 *       therefore start at any key;</li>
 *   <li>then, ascending, the kept columns below m1 that fall in no range.</li>
 * </ul>
 * Capacity: {@code maxRanges = max(1, min(diagonals, queryBlocks))}: runs are disjoint, not touching, all but the
 * first (which may be cut at key 0) at least 64 keys long, and the last starts by m0, so block b has at most b + 1;
 * {@code maxColumns = min(columns, length)}.
 *
 * @param columns   kept key columns, ascending
 * @param diagonals kept diagonals δ = i - j, ascending
 */
public record VerticalSlashIndex(int[] columns, int[] diagonals, int length) implements HeadIndex {
    public VerticalSlashIndex {
        requireAscending(columns, length, "columns");
        requireAscending(diagonals, length, "diagonals");
    }

    @Override
    public IndexCapacity capacity() {
        return new IndexCapacity(Math.max(1, Math.min(diagonals.length, SparseIndex.queryBlocks(length))),
                Math.min(columns.length, length));
    }

    @Override
    public void writeTo(SparseIndex index, int h) {
        if (index.length() != length) {
            throw new IllegalArgumentException("index of " + index.length() + " tokens for a selection of " + length);
        }
        int below = 0;
        for (int b = 0; b < index.queryBlocks(); b++) {
            int m0 = b * SparseIndex.BLOCK;
            int m1 = index.blockEnd(b);
            while (below < diagonals.length && diagonals[below] < m1) below++;
            // Diagonals from the farthest down: their windows ascend in both bounds.
            int runStart = -1;
            int runEnd = -1;
            for (int i = below - 1; i >= 0; i--) {
                int delta = diagonals[i];
                int lo = windowStart(m0, delta);
                int hi = windowEnd(m0, m1, delta);
                if (runEnd >= lo) {
                    runEnd = Math.max(runEnd, hi);
                    continue;
                }
                if (runEnd >= 0) index.addRange(h, b, runStart, runEnd);
                runStart = lo;
                runEnd = hi;
            }
            if (runEnd >= 0) index.addRange(h, b, runStart, runEnd);
            for (int j : columns) {
                if (j >= m1) break;
                if (!covered(j, m0, below)) index.addColumn(h, b, j);
            }
        }
    }

    /** First key diagonal δ crosses in the 64-row window starting at row m0. */
    public static int windowStart(int m0, int delta) {
        return Math.max(0, m0 - delta);
    }

    /** End (exclusive) of the keys diagonal δ &lt; m1 crosses in the window of rows [m0, m0 + 64) cut at m1. */
    public static int windowEnd(int m0, int m1, int delta) {
        return Math.min(m0 + SparseIndex.BLOCK - delta, m1);
    }

    /**
     * Whether key j (below the block's end m1) lies in the window of one of the first {@code below} kept diagonals
     * (those below m1) of the block starting at query m0: exactly when one of them is in
     * {@code [max(0, m0 - j), m0 + 64 - j)}.
     */
    private boolean covered(int j, int m0, int below) {
        int first = Math.max(0, m0 - j);
        int at = Arrays.binarySearch(diagonals, 0, below, first);
        if (at < 0) at = -at - 1;
        return at < below && diagonals[at] < m0 + SparseIndex.BLOCK - j;
    }

    private static void requireAscending(int[] values, int length, String what) {
        for (int i = 0; i < values.length; i++) {
            if (values[i] < 0 || values[i] >= length || (i > 0 && values[i] <= values[i - 1])) {
                throw new IllegalArgumentException("kept " + what + " must ascend within [0, " + length + "), got "
                        + Arrays.toString(values));
            }
        }
    }
}
