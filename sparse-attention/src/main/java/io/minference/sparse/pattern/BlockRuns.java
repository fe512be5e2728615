package io.minference.sparse.pattern;

import io.minference.sparse.SparseIndex;

/**
 * Index building shared by the patterns: key blocks marked in a bitmap become merged ranges of a query block, each
 * run of marked blocks {@code [c0, c1]} the range {@code [64 c0, min(64 (c1 + 1), m1))}, {@code m1} being the query
 * block's end.
 */
public final class BlockRuns {
    private BlockRuns() {
    }

    /** Writes the runs of {@code marked[0..b]} as ranges of slot (h, b); returns how many it wrote. */
    public static int write(SparseIndex index, int h, int b, boolean[] marked) {
        int end = index.blockEnd(b);
        int runs = 0;
        for (int c = 0; c <= b; c++) {
            if (!marked[c]) continue;
            int c1 = c;
            while (c1 + 1 <= b && marked[c1 + 1]) c1++;
            index.addRange(h, b, c * SparseIndex.BLOCK, Math.min((c1 + 1) * SparseIndex.BLOCK, end));
            runs++;
            c = c1;
        }
        return runs;
    }

    /** Runs of marked blocks among {@code marked[0..b]}. */
    public static int count(boolean[] marked, int b) {
        int runs = 0;
        for (int c = 0; c <= b; c++) if (marked[c] && (c == 0 || !marked[c - 1])) runs++;
        return runs;
    }
}
