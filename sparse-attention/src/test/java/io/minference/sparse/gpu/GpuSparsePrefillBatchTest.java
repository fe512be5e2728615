package io.minference.sparse.gpu;

import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;
import org.junit.jupiter.api.Test;

import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Head batches keep one batch's index within the budget, whatever the length. */
class GpuSparsePrefillBatchTest {
    @Test
    void batchesShrinkAsThePromptGrowsAndStayWithinTheBudget() {
        List<HeadPattern> defaults = Collections.nCopies(32, HeadPattern.VerticalSlash.DEFAULT);
        assertEquals(32, GpuSparsePrefill.headsPerBatch(defaults, 131072), "128K: one batch of every head");
        int atMillion = GpuSparsePrefill.headsPerBatch(defaults, 1 << 20);
        assertTrue(atMillion >= 1 && atMillion < 32, "1M tokens: " + atMillion + " heads per batch");
        assertTrue(atMillion * GpuSparsePrefill.indexBytes(HeadPattern.VerticalSlash.DEFAULT, 1 << 20)
                <= GpuSparsePrefill.INDEX_BUDGET_BYTES);
    }

    @Test
    void theLargestHeadSetsTheBatch() {
        List<HeadPattern> mixed = List.of(new HeadPattern.AShape(128, 4096), new HeadPattern.Dense(),
                new HeadPattern.VerticalSlash(Budget.mass(0.9), Budget.mass(0.9)));
        long largest = GpuSparsePrefill.indexBytes(mixed.get(2), 1 << 20);
        assertTrue(largest > GpuSparsePrefill.indexBytes(mixed.get(0), 1 << 20));
        assertEquals(Math.max(1, Math.min(3, GpuSparsePrefill.INDEX_BUDGET_BYTES / largest)),
                GpuSparsePrefill.headsPerBatch(mixed, 1 << 20));
    }
}
