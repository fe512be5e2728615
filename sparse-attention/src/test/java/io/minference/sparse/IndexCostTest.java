package io.minference.sparse;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class IndexCostTest {
    @Test
    void tilesAndKeysOfAHandBuiltIndex() {
        // 150 tokens: query blocks [0, 64), [64, 128), [128, 150)
        SparseIndex index = new SparseIndex(0, 1, 150, 1, 65);
        index.addRange(0, 0, 0, 64);                               // 1 tile; row i attends i + 1 keys
        for (int c = 0; c < 64; c++) index.addColumn(0, 1, c);     // 64 columns: 1 tile; 64 keys a row
        index.addRange(0, 2, 128, 150);                            // 1 tile; row i attends i - 127 keys
        for (int c = 0; c < 65; c++) index.addColumn(0, 2, c);     // 65 columns: 2 tiles; 65 keys a row
        IndexCost cost = IndexCost.of(index, 0);
        long keys = 64L * 65 / 2 + 64L * 64 + 22L * 23 / 2 + 22L * 65;
        assertEquals(keys, cost.keysAttended());
        long byRows = 0;
        for (int i = 0; i < 150; i++) byRows += index.keysAttended(0, i);
        assertEquals(byRows, cost.keysAttended());
        assertEquals(150L * 151 / 2, cost.causalKeys());
        assertEquals(1 + 1 + 3, cost.tiles());
        assertEquals(6, IndexCost.denseTiles(150));
        assertEquals((double) keys / (150.0 * 151 / 2), cost.density(), 1e-12);
        assertEquals(5.0 / 6, cost.tileDensity(), 1e-12);
        assertEquals(cost.density(), cost.plus(cost).density(), 1e-12);
        assertEquals(Double.NaN, IndexCost.NONE.density());
    }
}
