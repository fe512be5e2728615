package io.minference.bench;

import io.minference.sparse.SparseIndex;
import io.minference.sparse.pattern.VerticalSlashIndex;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The report's counts on hand-walked indexes (no GPU): range tiles that lie in one range, compact column tiles. */
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

    @Test
    void aCompactCopyGivesEachBlockItsColumnsBelowTheBlockEndInWholeTiles() {
        // columns 0-69 and 300 of 400 keys, no diagonal: blocks end at 64, 128, 192, 256, 320, 384 and 400 and have
        // 64, 70, 70, 70, 71, 71 and 71 columns below their end: 1 + 2 + 2 + 2 + 2 + 2 + 2 tiles
        int[] columns = IntStream.concat(IntStream.range(0, 70), IntStream.of(300)).toArray();
        assertEquals(13, SlashTilesReport.compactColumnTiles(new VerticalSlashIndex(columns, new int[0], 400)));
        // the main diagonal's range is each block's own keys: it covers columns 0-63 in block 0, 64-69 in block 1
        // and 300 in block 4, which the gather leaves out (0 + 1 + 2 + 2 + 2 + 2 + 2 tiles) and the compact copy
        // computes, masked
        VerticalSlashIndex covered = new VerticalSlashIndex(columns, new int[] {0}, 400);
        SparseIndex index = SlashTilesReport.index(covered, 400);
        int gathered = IntStream.range(0, index.queryBlocks()).map(b -> index.columnTiles(0, b)).sum();
        assertEquals(13, SlashTilesReport.compactColumnTiles(covered));
        assertEquals(11, gathered);
    }
}
