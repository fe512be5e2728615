package io.minference.sparse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The density's closed-form count per query block against the index's own count, row by row. */
class IndexDensityTest {
    @Test
    void theClosedFormCountsWhatEachRowAttends() {
        long seed = 20261204L;
        System.out.println("IndexDensityTest seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        for (int trial = 0; trial < 20; trial++) {
            int length = 1 + random.nextInt(700);
            int heads = 1 + random.nextInt(3);
            SparseIndex index = new SparseIndex(0, heads, length, 8, 12);
            long expected = 0;
            for (int h = 0; h < heads; h++) {
                for (int b = 0; b < index.queryBlocks(); b++) {
                    int end = index.blockEnd(b);
                    // ascending block-aligned ranges, the last possibly ending inside the block (the diagonal)
                    int at = 0;
                    for (int r = 0; r < 8 && at < end; r++) {
                        int start = at + SparseIndex.BLOCK * random.nextInt(3);
                        if (start >= end) break;
                        int stop = Math.min(end, start + SparseIndex.BLOCK * (1 + random.nextInt(3)));
                        if (random.nextInt(4) == 0) stop = end;
                        index.addRange(h, b, start, stop);
                        at = stop + SparseIndex.BLOCK;
                        at -= at % SparseIndex.BLOCK;
                    }
                    int[] keys = random.ints(12, 0, end).sorted().distinct().toArray();
                    for (int key : keys) {
                        if (!index.insideRange(h, b, key)) index.addColumn(h, b, key);
                    }
                }
                for (int i = 0; i < length; i++) expected += index.keysAttended(h, i);
            }
            IndexDensity density = IndexDensity.measure();
            density.add(index);
            assertEquals(expected, density.attendedKeys(), "trial " + trial + ", length " + length);
            assertEquals((long) heads * length * (length + 1) / 2, density.causalKeys());
            assertTrue(density.fraction() > 0 && density.fraction() <= 1);
        }
    }

    @Test
    void offCountsNothing() {
        SparseIndex index = new SparseIndex(0, 1, 64, 1, 0);
        index.addRange(0, 0, 0, 64);
        IndexDensity off = IndexDensity.off();
        off.add(index);
        assertTrue(Double.isNaN(off.fraction()));
    }
}
