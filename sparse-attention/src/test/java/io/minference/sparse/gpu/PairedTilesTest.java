package io.minference.sparse.gpu;

import io.minference.sparse.SparseIndex;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The paired kernel's step count: for every pair of every head of random indices of each pattern, the producer's
 * merged walk is exactly {@code tiles(A) + tiles(B) - commonTiles} range tiles (the kernel counts its steps with the
 * formula and walks with the cursors: an overcount would leave both consumers skipping masked steps, an undercount
 * would leave tiles unloaded). Vertical-slash pairs share most of their range tiles; block-sparse ones, whose blocks
 * start on 64-key boundaries in both slots, share those they both keep. A two-block cluster's steps (the merged
 * range tiles, then the larger column-tile count) hold each slot's own tiles.
 */
class PairedTilesTest {
    @Test
    void theMergedWalkIsTheCountTheKernelTakes() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        for (int length : new int[] {1, 63, 64, 65, 130, 1000, 4099, 20000}) {
            SparseIndex[] indexes = {TestIndexes.verticalSlash(random, 0, 3, length, 150, 90),
                    TestIndexes.aShape(0, 3, length, 100, 300), TestIndexes.blockSparse(random, 0, 3, length, 0.2),
                    TestIndexes.mixed(random, 0, 3, length), TestIndexes.dense(0, 3, length)};
            for (SparseIndex index : indexes) {
                for (int h = 0; h < index.heads(); h++) {
                    long single = 0;
                    for (int b = 0; b < index.queryBlocks(); b++) {
                        single += index.tiles(h, b);
                        if (b % 2 == 1) continue;
                        int second = b + 1 < index.queryBlocks() ? index.rangeTiles(h, b + 1) : 0;
                        int expected = index.rangeTiles(h, b) + second
                                - PairedTiles.commonTiles(index, h, b);
                        int at = b, head = h;
                        assertEquals(expected, PairedTiles.mergedRangeTiles(index, h, b), () -> "seed " + seed
                                + ", length " + length + ", head " + head + ", blocks " + at + " and " + (at + 1));
                        // a cluster's steps hold each slot's tiles, and no more than both slots' own steps
                        int steps = PairedTiles.clusterSteps(index, h, b);
                        int ownB = b + 1 < index.queryBlocks() ? index.tiles(h, b + 1) : 0;
                        assertTrue(steps >= Math.max(index.tiles(h, b), ownB) && steps <= Math.max(1,
                                index.tiles(h, b) + ownB), () -> "seed " + seed + ", length " + length + ", head "
                                + head + ", cluster of blocks " + at + " and " + (at + 1) + ": " + steps + " steps");
                    }
                    long paired = PairedTiles.loads(index, h);
                    assertTrue(paired <= single, "seed " + seed + ": pairs load " + paired + " > " + single);
                }
            }
        }
    }

    /** A vertical-slash pair: a band of diagonals 64 keys further in the second block shares all its tiles but one. */
    @Test
    void aBandOfDiagonalsSharesAllButOneTile() {
        SparseIndex index = new SparseIndex(0, 1, 4096, 4, 0);
        // blocks 30 and 31: the window of diagonals 0..999, exact per block, as the index assembly writes it
        index.addRange(0, 30, 1920 - 999, 1984);
        index.addRange(0, 31, 1984 - 999, 2048);
        assertEquals(17, index.rangeTiles(0, 30));
        assertEquals(16, PairedTiles.commonTiles(index, 0, 30));
        assertEquals(18, PairedTiles.mergedRangeTiles(index, 0, 30));
        assertEquals(18, PairedTiles.loads(index, 0));
    }
}
