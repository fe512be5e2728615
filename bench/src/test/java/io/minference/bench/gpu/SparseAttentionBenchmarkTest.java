package io.minference.bench.gpu;

import io.minference.sparse.gpu.GatherArrival;
import io.minference.sparse.gpu.HopperSparseFlashPrefill;
import io.minference.sparse.gpu.LaunchOrder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernel benchmark's Hopper variants (no GPU): they are built before anything runs, so a variant the kernel
 * refuses (pairs in head-major order did, once head-major became the default) fails here rather than on a GPU.
 */
class SparseAttentionBenchmarkTest {
    @ParameterizedTest
    @EnumSource(LaunchOrder.class)
    void everyLaunchOrderGivesTheGathersAndPairs(LaunchOrder order) {
        HopperSparseFlashPrefill.Variant configured = HopperSparseFlashPrefill.Variant.DEFAULT.withOrder(order);
        List<SparseAttentionBenchmark.LabelledVariant> variants = SparseAttentionBenchmark.hopperVariants(configured);
        assertEquals(GatherArrival.values().length + 1, variants.size(), variants.toString());
        for (int g = 0; g < GatherArrival.values().length; g++) {
            assertEquals(configured.withGather(GatherArrival.values()[g]), variants.get(g).variant());
        }
        SparseAttentionBenchmark.LabelledVariant pairs = variants.getLast();
        assertTrue(pairs.variant().pairs(), pairs.toString());
        assertEquals("hopper pairs", pairs.label());
    }

    @Test
    void theDefaultIsLabelledByItsGatherAndBox() {
        assertEquals("hopper async-gather rb16", SparseAttentionBenchmark.hopperVariants(
                HopperSparseFlashPrefill.Variant.DEFAULT).get(GatherArrival.ASYNC.ordinal()).label());
    }

    @Test
    void persistentBlocksRunAloneAsConfigured() {
        HopperSparseFlashPrefill.Variant persistent = HopperSparseFlashPrefill.Variant.BASELINE.withPersistent(true);
        List<SparseAttentionBenchmark.LabelledVariant> variants = SparseAttentionBenchmark.hopperVariants(persistent);
        assertEquals(1, variants.size());
        assertEquals(persistent, variants.getFirst().variant());
    }
}
