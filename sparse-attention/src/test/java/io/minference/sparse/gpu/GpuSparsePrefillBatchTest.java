package io.minference.sparse.gpu;

import io.minference.sparse.SparseIndex;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.function.IntUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Head batches keep one batch's compact index within the budget, sized by what the estimate counted per slot; the
 * compact layout against the former fixed one.
 */
class GpuSparsePrefillBatchTest {
    private static final int LENGTH = 1 << 19;
    private static final int BLOCKS = SparseIndex.queryBlocks(LENGTH);

    /** An estimate of {@code heads} heads whose query block b needs {@code ranges(b)} ranges and 500 columns. */
    private static GpuIndexBuilder.Estimate estimate(int heads, IntUnaryOperator ranges) {
        int[] rangeNeeds = new int[heads * BLOCKS], columnNeeds = new int[heads * BLOCKS];
        for (int s = 0; s < rangeNeeds.length; s++) {
            rangeNeeds[s] = ranges.applyAsInt(s % BLOCKS);
            columnNeeds[s] = Math.min(500, s % BLOCKS + 1);
        }
        return new GpuIndexBuilder.Estimate(null, 0, heads, LENGTH,
                GpuIndexBuilder.HeadNeeds.ofSlots(rangeNeeds, columnNeeds, BLOCKS), false, 0);
    }

    @Test
    void a512kLayerOfScatteredSlashesFitsTwoBatches() {
        // 6096 diagonals scattered over 512K keys: about 2900 runs in the last block, growing with b
        GpuIndexBuilder.Estimate layer = estimate(32, b -> Math.min(b + 1, 100 + 2800 * b / BLOCKS));
        int first = GpuSparsePrefill.headsPerBatch(layer, 0);
        int second = GpuSparsePrefill.headsPerBatch(layer, first);
        assertEquals(32, first + second, "two batches: " + first + " + " + second);
        assertTrue(layer.indexBytes(0, first) <= GpuSparsePrefill.INDEX_BUDGET_BYTES);
        long fixed = layer.fixedLayoutBytes(0, 32);
        long compact = layer.indexBytes(0, 32);
        System.out.printf("512K, 32 heads: compact %.0f MB, fixed layout %.0f MB%n", compact / 1e6, fixed / 1e6);
        assertTrue(compact < fixed, compact + " vs " + fixed);
        // the layout before (every slot room for min(6096, query blocks) ranges and 1000 columns): 433 MB a head
        long before = 32L * BLOCKS * (8L * 6096 + 4 * 1000 + 8);
        System.out.printf("512K, 32 heads, former capacity-bound layout: %.0f MB%n", before / 1e6);
    }

    @Test
    void smallNeedsMakeOneBatchAndAHeadBeyondTheBudgetGoesAlone() {
        assertEquals(32, GpuSparsePrefill.headsPerBatch(estimate(32, b -> 2), 0));
        GpuIndexBuilder.Estimate huge = estimate(3, b -> 40000);   // 8192 x 40000 x 8 bytes: 2.6 GB a head
        assertEquals(1, GpuSparsePrefill.headsPerBatch(huge, 0));
        assertEquals(1, GpuSparsePrefill.headsPerBatch(huge, 2));
    }

    @Test
    void offsetsAreRunningSumsAndRefuseMoreThanAnIntHolds() {
        assertEquals("[0, 3, 3, 7]", Arrays.toString(DeviceSparseIndex.offsets(new int[] {3, 0, 4})));
        int[] many = new int[3];
        Arrays.fill(many, Integer.MAX_VALUE / 2 + 1);
        assertThrows(IllegalArgumentException.class, () -> DeviceSparseIndex.offsets(many));
        // what the builder checks before it allocates a batch's index from the heads' sums
        DeviceSparseIndex.requireTotals(Integer.MAX_VALUE, 0);
        IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class,
                () -> DeviceSparseIndex.requireTotals(1L << 31, 5));
        assertTrue(tooMany.getMessage().contains("not 2147483648 and 5; build fewer heads at once"),
                tooMany.getMessage());
    }
}
