package io.minference.sparse.pattern;

import io.minference.sparse.SparseIndex;
import java.util.Arrays;

/**
 * Vertical-slash index building: kept key columns and diagonals become, per query block b with rows
 * {@code [m0, m1)}, the merged ranges of the key blocks the diagonals touch (diagonal δ &lt; m1 covers keys
 * {@code [max(0, m0 - δ), m1 - δ)}) and then, ascending, the kept columns below m1 that fall in no range.
 * Capacity: {@code maxRanges = max(1, min(diagonals, queryBlocks))} (each diagonal touches one contiguous run of
 * blocks), {@code maxColumns = min(columns, length)}.
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
        boolean[] marked = new boolean[index.queryBlocks()];
        for (int b = 0; b < index.queryBlocks(); b++) {
            int m0 = b * SparseIndex.BLOCK;
            int m1 = index.blockEnd(b);
            Arrays.fill(marked, 0, b + 1, false);
            for (int delta : diagonals) {
                if (delta >= m1) break;
                int first = Math.max(0, m0 - delta) / SparseIndex.BLOCK;
                int last = (m1 - delta - 1) / SparseIndex.BLOCK;
                for (int c = first; c <= last; c++) marked[c] = true;
            }
            BlockRuns.write(index, h, b, marked);
            for (int j : columns) {
                if (j >= m1) break;
                if (!marked[j / SparseIndex.BLOCK]) index.addColumn(h, b, j);
            }
        }
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
