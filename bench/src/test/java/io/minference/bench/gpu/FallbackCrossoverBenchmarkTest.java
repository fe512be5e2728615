package io.minference.bench.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.sparse.SparseIndex;
import org.junit.jupiter.api.Test;

/** The crossover benchmark's indices follow SparseIndex's rules and their share grows with p; the interpolation. */
class FallbackCrossoverBenchmarkTest {
    @Test
    void indicesAreWellFormedAndDenserWithP() {
        int length = 3000;
        double previous = 0;
        for (double keep : new double[] {0.2, 0.6, 1.0}) {
            SparseIndex index = FallbackCrossoverBenchmark.index(length, keep, 3);
            for (int h = 0; h < index.heads(); h++) {
                for (int b = 0; b < index.queryBlocks(); b++) {
                    assertTrue(index.insideRange(h, b, 64 * b), "the query block's own keys");
                    for (int c = 0; c < index.columnCount(h, b); c++) {
                        int j = index.column(h, b, c);
                        assertFalse(index.insideRange(h, b, j), "column " + j + " outside the ranges");
                        if (c > 0) assertTrue(j > index.column(h, b, c - 1));
                    }
                }
            }
            double share = (double) SyntheticVerticalSlash.keyTiles(index)
                    / (SparseIndex.causalTiles(length) * index.heads());
            assertTrue(share > previous, keep + ": share " + share);
            previous = share;
        }
    }

    @Test
    void crossingInterpolates() {
        double[] shares = {0.2, 0.5, 0.8};
        assertEquals(0.65, FallbackCrossoverBenchmark.crossing(shares, new double[] {0.3, 0.8, 1.2}, 1.0), 1e-12);
        assertEquals(0.8, FallbackCrossoverBenchmark.crossing(shares, new double[] {0.3, 0.5, 0.9}, 1.0), 1e-12);
        assertEquals(0.2, FallbackCrossoverBenchmark.crossing(shares, new double[] {1.1, 1.2, 1.3}, 1.0), 1e-12);
    }
}
