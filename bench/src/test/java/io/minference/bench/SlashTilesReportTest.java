package io.minference.bench;

import io.minference.sparse.SparseIndex;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The count of range tiles that lie in one range, on a hand-walked index (no GPU). */
class SlashTilesReportTest {
    @Test
    void aTileIsInOneRangeWhenItsSixtyFourKeysAre() {
        SparseIndex index = new SparseIndex(0, 1, 1024, 3, 0);
        // query block 15: boxes of 16 fill tiles from keys 0, 64 (64-99, then 200-209 and 500-...: three ranges),
        // 500, 564, 628, 692, 756, 820 and 884 (884-899, short of 64): 7 of the 9 tiles lie in one range
        index.addRange(0, 15, 0, 100);
        index.addRange(0, 15, 200, 210);
        index.addRange(0, 15, 500, 900);
        // query block 3: one range of 64 keys starting mid-block, and nothing else: one tile, in one range
        index.addRange(0, 3, 130, 194);
        assertEquals(9, index.rangeTiles(0, 15, 16));
        assertEquals(8, SlashTilesReport.oneRangeTiles(index, 16));
        // whole-tile boxes: 0, 64 (36 keys), 200 (10), 500 to 820 by 64, and 884 (16): 7 of one range in block 15
        assertEquals(7 + 1, SlashTilesReport.oneRangeTiles(index, 64));
    }
}
