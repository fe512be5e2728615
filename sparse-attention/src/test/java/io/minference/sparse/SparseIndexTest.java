package io.minference.sparse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SparseIndexTest {
    @Test
    void adjacentRangesMergeAndGapsStay() {
        SparseIndex index = new SparseIndex(2, 1, 300, 3, 4);
        index.addRange(0, 4, 0, 64);
        index.addRange(0, 4, 64, 128);
        index.addRange(0, 4, 192, 300);
        assertEquals(2, index.rangeCount(0, 4));
        assertEquals(0, index.rangeStart(0, 4, 0));
        assertEquals(128, index.rangeEnd(0, 4, 0));
        assertEquals(192, index.rangeStart(0, 4, 1));
        assertEquals(300, index.rangeEnd(0, 4, 1));
        index.addColumn(0, 4, 130);
        index.addColumn(0, 4, 150);
        assertEquals(2, index.columnCount(0, 4));
        assertTrue(index.insideRange(0, 4, 100));
        assertFalse(index.insideRange(0, 4, 130));
        // row 257 attends keys 0..127, 130, 150 and 192..257
        assertEquals(128 + 2 + 66, index.keysAttended(0, 257));
        assertEquals(300, index.blockEnd(4));
        assertEquals(5, index.queryBlocks());
    }

    @Test
    void refusesMalformedRangesAndColumns() {
        SparseIndex index = new SparseIndex(0, 1, 200, 2, 2);
        assertThrows(IllegalArgumentException.class, () -> index.addRange(0, 1, -1, 64), "negative start");
        assertThrows(IllegalArgumentException.class, () -> index.addRange(0, 1, 0, 129), "past the block's end");
        assertThrows(IllegalArgumentException.class, () -> index.addRange(0, 1, 64, 64), "empty");
        index.addRange(0, 3, 64, 128);
        assertThrows(IllegalArgumentException.class, () -> index.addRange(0, 3, 0, 64), "out of order");
        index.addRange(0, 3, 192, 200);
        index.addColumn(0, 3, 130);
        assertThrows(IllegalArgumentException.class, () -> index.addColumn(0, 3, 100), "inside a range");
        assertThrows(IllegalArgumentException.class, () -> index.addColumn(0, 3, 129), "descending");
        assertThrows(IllegalArgumentException.class, () -> index.addColumn(0, 1, 128), "past the block's end");
        index.addColumn(0, 3, 140);
        assertThrows(IllegalStateException.class, () -> index.addColumn(0, 3, 150), "no room");
        SparseIndex one = new SparseIndex(0, 1, 300, 1, 0);
        one.addRange(0, 4, 0, 64);
        assertThrows(IllegalStateException.class, () -> one.addRange(0, 4, 128, 192), "no room for a second range");
        assertThrows(IndexOutOfBoundsException.class, () -> one.rangeCount(1, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> one.rangeCount(0, 5));
    }

    @Test
    void rangesStartAnywhereAndTilesCountFromTheirStart() {
        SparseIndex index = new SparseIndex(0, 2, 300, 3, 70);
        index.addRange(0, 4, 10, 75);     // 65 keys: 2 tiles
        index.addRange(0, 4, 100, 164);   // 64 keys: 1 tile
        index.addRange(0, 4, 164, 170);   // touches: merged into [100, 170), 2 tiles
        assertEquals(2, index.rangeCount(0, 4));
        assertEquals(170, index.rangeEnd(0, 4, 1));
        for (int j = 171; j < 241; j++) index.addColumn(0, 4, j);   // 70 columns: 2 tiles
        assertEquals(6, index.tiles(0, 4));
        index.addRange(0, 0, 3, 4);
        assertEquals(7, index.tiles(0));
        assertEquals(15, SparseIndex.causalTiles(300), "1 + 2 + 3 + 4 + 5");
        assertEquals(1, SparseIndex.causalTiles(1));
        index.addRange(1, 2, 0, 192);
        index.clearHead(0);
        assertEquals(0, index.tiles(0));
        assertEquals(3, index.tiles(1), "the other head is untouched");
        index.addRange(0, 4, 0, 300);
        assertEquals(5, index.tiles(0, 4));
    }

    /**
     * Range boxes: [10, 75) is 65 keys, [100, 170) 70; in boxes of 16 that is 5 + 5 = 10 boxes, 3 tiles of 4 (2 + 2
     * tiles of 64 without boxes); boxes of 8: 9 + 9 = 18, 3 tiles; boxes of 32: 3 + 3 = 6, 3 tiles.
     */
    @Test
    void rangeBoxesShareTilesBetweenRanges() {
        SparseIndex index = new SparseIndex(0, 1, 300, 3, 0);
        index.addRange(0, 4, 10, 75);
        index.addRange(0, 4, 100, 170);
        assertEquals(4, index.rangeTiles(0, 4));
        assertEquals(4, index.rangeTiles(0, 4, 64));
        assertEquals(3, index.rangeTiles(0, 4, 32));
        assertEquals(3, index.rangeTiles(0, 4, 16));
        assertEquals(3, index.rangeTiles(0, 4, 8));
        assertEquals(0, index.rangeTiles(0, 0, 16), "a slot without ranges");
        assertThrows(IllegalArgumentException.class, () -> index.rangeTiles(0, 4, 24));
    }

    @Test
    void refusesBadShapesAndIndicesTooLargeForAnArray() {
        assertThrows(IllegalArgumentException.class, () -> new SparseIndex(0, 0, 10, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new SparseIndex(0, 1, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new SparseIndex(0, 1, 10, 0, 0));
        var e = assertThrows(IllegalArgumentException.class, () -> new SparseIndex(0, 64, 1 << 20, 16384, 6096));
        assertTrue(e.getMessage().contains("fewer heads"), e.getMessage());
    }
}
