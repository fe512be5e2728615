package io.minference.sparse.gpu;

import io.minference.sparse.SparseIndex;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

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
                        // a cluster's range steps take each slot's range tiles once, in order; a tile both slots
                        // start at the same key is one shared step, in both blocks
                        checkClusterWalk(index, h, b, () -> "seed " + seed + ", length " + length + ", head "
                                + head + ", cluster of blocks " + at + " and " + (at + 1));
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

    private static List<Integer> rangeTileStarts(SparseIndex index, int h, int b) {
        List<Integer> starts = new ArrayList<>();
        if (b >= index.queryBlocks()) return starts;
        for (int r = 0; r < index.rangeCount(h, b); r++) {
            for (int key = index.rangeStart(h, b, r); key < index.rangeEnd(h, b, r); key += SparseIndex.BLOCK) {
                starts.add(key);
            }
        }
        return starts;
    }

    private static void checkClusterWalk(SparseIndex index, int h, int b, Supplier<String> where) {
        List<Integer> ownA = rangeTileStarts(index, h, b);
        List<Integer> ownB = rangeTileStarts(index, h, b + 1);
        List<Integer> takenA = new ArrayList<>();
        List<Integer> takenB = new ArrayList<>();
        Map<Integer, Integer> stepOfA = new HashMap<>();
        Map<Integer, Integer> stepOfB = new HashMap<>();
        List<PairedTiles.ClusterStep> steps = PairedTiles.clusterRangeSteps(index, h, b);
        // the kernel's counting walk, a run of shared tiles a turn, counts the rule's steps
        assertEquals(steps.size(), PairedTiles.clusterWalk(index, h, b).steps(), where);
        for (int i = 0; i < steps.size(); i++) {
            PairedTiles.ClusterStep step = steps.get(i);
            assertTrue(step.a() >= 0 || step.b() >= 0, where);
            assertEquals(step.shared(), step.a() >= 0 && step.a() == step.b(), where);
            if (step.a() >= 0) {
                takenA.add(step.a());
                stepOfA.put(step.a(), i);
            }
            if (step.b() >= 0) {
                takenB.add(step.b());
                stepOfB.put(step.b(), i);
            }
        }
        assertEquals(ownA, takenA, where);
        assertEquals(ownB, takenB, where);
        stepOfA.forEach((start, step) -> {
            if (stepOfB.containsKey(start)) assertEquals(step, stepOfB.get(start), where);
        });
    }

    /** Slash runs one query block apart: B's tile ending one run pairs with A's tile starting the next. */
    @Test
    void slashRunsPairTheirPrivateTiles() {
        SparseIndex index = new SparseIndex(0, 1, 4096, 4, 0);
        // block 30 keys [0, 640) and [1000, 1320); block 31 the same runs 64 keys further
        index.addRange(0, 30, 0, 640);
        index.addRange(0, 30, 1000, 1320);
        index.addRange(0, 31, 64, 704);
        index.addRange(0, 31, 1064, 1384);
        // A: 0, 64..576 shared (9), then A's 1000 with B's 640, then 1064..1256 shared (4), then B's 1320 alone
        List<PairedTiles.ClusterStep> steps = PairedTiles.clusterRangeSteps(index, 0, 30);
        assertEquals(1 + 9 + 1 + 4 + 1, steps.size());
        assertEquals(new PairedTiles.ClusterStep(1000, 640, false), steps.get(10));
        assertEquals(17, PairedTiles.mergedRangeTiles(index, 0, 30));
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
