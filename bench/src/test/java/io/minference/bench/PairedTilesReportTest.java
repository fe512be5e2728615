package io.minference.bench;

import io.minference.sparse.SparseIndex;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What a block taking one query block of two heads would load: shared range tiles once, column tiles always. */
class PairedTilesReportTest {
    @Test
    void twoHeadsShareTheRangeTilesThatStartAtTheSameKey() {
        int length = 256;
        SparseIndex a = new SparseIndex(0, 1, length, 4, 4);
        SparseIndex b = new SparseIndex(1, 1, length, 4, 4);
        // block 3 (keys up to 256): a takes [0, 128) and one column, b takes [0, 64), [130, 194) and two columns
        a.addRange(0, 3, 0, 128);
        a.addColumn(0, 3, 200);
        b.addRange(0, 3, 0, 64);
        b.addRange(0, 3, 130, 194);
        b.addColumn(0, 3, 201);
        b.addColumn(0, 3, 202);
        // a's range tiles start at 0 and 64, b's at 0 and 130: three distinct starts, then a column tile each
        assertEquals(3 + 1 + 1, PairedTilesReport.headPairLoads(a, b));
        assertEquals(a.tiles(0, 3) + b.tiles(0, 3), 2 + 1 + 2 + 1);
        // a head paired with itself loads each of its range tiles once and its column tiles twice
        assertEquals(2 + 2, PairedTilesReport.headPairLoads(a, a));
    }
}
