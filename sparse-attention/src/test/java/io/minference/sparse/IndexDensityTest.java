package io.minference.sparse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.sparse.gpu.IndexKeys;
import io.minference.sparse.pattern.DensePattern;
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
            SparseIndex index = randomIndex(random, heads, length);
            long expected = 0;
            for (int h = 0; h < heads; h++) {
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

    /**
     * The device's key count ({@link IndexKeys}, through its CPU twin in the kernel's u32-per-slot arithmetic)
     * against the host's: per head against every row's {@link SparseIndex#keysAttended}, and a measuring device
     * prefill's density made from the per-head counts (fallback heads counted dense, as {@code GpuSparsePrefill} does)
     * against the density of the index it ran, counted on the host. The GPU half (the kernel's counts equal the
     * twin's) is in GpuCpuAgreementGpuTest.
     */
    @Test
    void theDeviceKeyCountEqualsTheHostCount() {
        long seed = System.nanoTime();
        System.out.println("IndexDensityTest device-count seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        for (int trial = 0; trial < 30; trial++) {
            int length = 1 + random.nextInt(900);
            int heads = 1 + random.nextInt(4);
            SparseIndex index = randomIndex(random, heads, length);
            long[] keys = IndexKeys.count(index);
            for (int h = 0; h < heads; h++) {
                long expected = 0;
                for (int i = 0; i < length; i++) expected += index.keysAttended(h, i);
                assertEquals(expected, keys[h], "trial " + trial + ", head " + h + ", length " + length);
            }
            DenseFallback fallback = new DenseFallback(random.nextDouble());
            IndexDensity device = IndexDensity.measure();
            for (int h = 0; h < heads; h++) {
                if (fallback.runsDense(index.tiles(h), length)) {
                    device.addDense(1, length);
                    // the host counts the index the prefill ran: a fallback head's slot holds the dense index
                    index.clearHead(h);
                    DensePattern.index().writeTo(index, h);
                } else {
                    device.addKeys(keys[h], 1, length);
                }
            }
            IndexDensity host = IndexDensity.measure();
            host.add(index);
            assertEquals(host.attendedKeys(), device.attendedKeys(), "trial " + trial);
            assertEquals(host.causalKeys(), device.causalKeys(), "trial " + trial);
        }
    }

    @Test
    void theDeviceCountOfALongPromptsSlotFitsItsU32() {
        int length = 512 * 1024;
        SparseIndex index = new SparseIndex(0, 1, length, 1, 0);
        int last = index.queryBlocks() - 1;
        index.addRange(0, last, 0, length);
        long expected = 0;
        for (int i = last * SparseIndex.BLOCK; i < length; i++) expected += index.keysAttended(0, i);
        assertEquals(expected, IndexKeys.count(index)[0]);
    }

    /** Ascending block-aligned ranges (the last possibly ending inside its block) and columns outside them. */
    private static SparseIndex randomIndex(SplittableRandom random, int heads, int length) {
        SparseIndex index = new SparseIndex(0, heads, length, 8, 12);
        for (int h = 0; h < heads; h++) {
            for (int b = 0; b < index.queryBlocks(); b++) {
                int end = index.blockEnd(b);
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
                for (int key : random.ints(12, 0, end).sorted().distinct().toArray()) {
                    if (!index.insideRange(h, b, key)) index.addColumn(h, b, key);
                }
            }
        }
        return index;
    }
}
