package io.minference.sparse.gpu;

import io.minference.kernels.flash.HopperFlashLoop;
import io.minference.ptx.PtxTarget;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Hopper sparse kernel's settings (launch order, gather arrival, the whole variant), and the bucket width of
 * {@link SlotOrder}'s sort. */
class LaunchOrderTest {
    @Test
    void settingsParseAndAMisspellingNamesTheProperty() {
        assertEquals(LaunchOrder.LAST_FIRST, LaunchOrder.parse("last-first"));
        assertEquals(LaunchOrder.LONGEST_FIRST, LaunchOrder.parse(" Longest-First "));
        assertEquals(LaunchOrder.HEAD_MAJOR, LaunchOrder.parse("head-major"));
        var e = assertThrows(IllegalArgumentException.class, () -> LaunchOrder.parse("longest"));
        assertTrue(e.getMessage().contains(LaunchOrder.PROPERTY) && e.getMessage().contains("'longest'"),
                e.getMessage());
    }

    @Test
    void theGatherArrivalParsesAndAMisspellingNamesTheProperty() {
        assertEquals(GatherArrival.WARP, GatherArrival.parse(" Warp "));
        assertEquals(GatherArrival.ASYNC, GatherArrival.parse("async"));
        var e = assertThrows(IllegalArgumentException.class, () -> GatherArrival.parse("asynch"));
        assertTrue(e.getMessage().contains(GatherArrival.PROPERTY) && e.getMessage().contains("'asynch'"),
                e.getMessage());
    }

    /** Each of the Hopper kernel's settings, misspelt, is an error naming its property; unset, the default. */
    @Test
    void theKernelVariantFromBadSettingsNamesTheProperty() {
        String keys = HopperSparseFlashPrefill.KEYS_PER_STEP_PROPERTY;
        try {
            assertEquals(HopperSparseFlashPrefill.Variant.DEFAULT, HopperSparseFlashPrefill.Variant.configured());
            System.setProperty(keys, "128");
            System.setProperty(GatherArrival.PROPERTY, "warp");
            System.setProperty(HopperSparseFlashPrefill.SCHEDULE_PROPERTY, "lazy,warp");
            assertEquals("head-major, lazy,warp, warp, 128 keys a step, range boxes of 16",
                    HopperSparseFlashPrefill.Variant.configured().describe(), "the default's boxes of 16 kept");
            for (String bad : new String[] {"96", "sixty-four", ""}) {
                System.setProperty(keys, bad);
                var e = assertThrows(IllegalArgumentException.class, HopperSparseFlashPrefill.Variant::configured);
                assertTrue(e.getMessage().contains(keys + " must be 64 or 128"), e.getMessage());
            }
            System.clearProperty(keys);
            System.setProperty(HopperSparseFlashPrefill.RANGE_BOX_PROPERTY, "8");
            assertEquals("head-major, lazy,warp, warp, 64 keys a step, range boxes of 8",
                    HopperSparseFlashPrefill.Variant.configured().describe());
            System.setProperty(HopperSparseFlashPrefill.RANGE_BOX_PROPERTY, "12");
            var box = assertThrows(IllegalArgumentException.class, HopperSparseFlashPrefill.Variant::configured);
            assertTrue(box.getMessage().contains(HopperSparseFlashPrefill.RANGE_BOX_PROPERTY
                    + " must be 64, 32, 16 or 8, not '12'"), box.getMessage());
            System.clearProperty(HopperSparseFlashPrefill.RANGE_BOX_PROPERTY);
            System.setProperty(GatherArrival.PROPERTY, "later");
            var e = assertThrows(IllegalArgumentException.class, HopperSparseFlashPrefill.Variant::configured);
            assertTrue(e.getMessage().contains(GatherArrival.PROPERTY), e.getMessage());
            System.clearProperty(GatherArrival.PROPERTY);
            System.setProperty(HopperSparseFlashPrefill.SCHEDULE_PROPERTY, "lazy");
            System.setProperty(HopperSparseFlashPrefill.PAIRS_PROPERTY, "true");
            var headMajor = assertThrows(IllegalArgumentException.class, HopperSparseFlashPrefill.Variant::configured);
            assertTrue(headMajor.getMessage().contains(HopperSparseFlashPrefill.PAIRS_PROPERTY + " wants the"
                    + " longest-first or the last-first order"), "pairs in the default's order: "
                    + headMajor.getMessage());
            System.setProperty(LaunchOrder.PROPERTY, "longest-first");
            var boxed = assertThrows(IllegalArgumentException.class, HopperSparseFlashPrefill.Variant::configured);
            assertTrue(boxed.getMessage().contains(HopperSparseFlashPrefill.PAIRS_PROPERTY + " wants range tiles in one"
                    + " copy of 64 keys, not boxes of 16"), "pairs over the default's boxes: " + boxed.getMessage());
            System.setProperty(HopperSparseFlashPrefill.RANGE_BOX_PROPERTY, "64");
            var async = assertThrows(IllegalArgumentException.class, HopperSparseFlashPrefill.Variant::configured);
            assertTrue(async.getMessage().contains("wait gathers"), "pairs over async gathers: " + async.getMessage());
            System.setProperty(GatherArrival.PROPERTY, "wait");
            assertEquals("longest-first, lazy, wait, 64 keys a step, pairs",
                    HopperSparseFlashPrefill.Variant.configured().describe());
            System.setProperty(HopperSparseFlashPrefill.PAIRS_PROPERTY, "yes");
            var pairs = assertThrows(IllegalArgumentException.class, HopperSparseFlashPrefill.Variant::configured);
            assertTrue(pairs.getMessage().contains(HopperSparseFlashPrefill.PAIRS_PROPERTY + " must be true or false,"
                    + " not 'yes'"), pairs.getMessage());
            System.setProperty(HopperSparseFlashPrefill.PAIRS_PROPERTY, "true");
            System.setProperty(keys, "128");
            var combined = assertThrows(IllegalArgumentException.class, HopperSparseFlashPrefill.Variant::configured);
            assertTrue(combined.getMessage().contains(HopperSparseFlashPrefill.PAIRS_PROPERTY + " wants 64 keys a step"),
                    combined.getMessage());
        } finally {
            System.clearProperty(LaunchOrder.PROPERTY);
            System.clearProperty(HopperSparseFlashPrefill.RANGE_BOX_PROPERTY);
            System.clearProperty(HopperSparseFlashPrefill.PAIRS_PROPERTY);
            System.clearProperty(keys);
            System.clearProperty(GatherArrival.PROPERTY);
            System.clearProperty(HopperSparseFlashPrefill.SCHEDULE_PROPERTY);
        }
    }

    /** A variant written as its settings: the properties' names without their prefix, any order, others default. */
    @Test
    void aVariantParsesFromItsSettings() {
        HopperSparseFlashPrefill.Variant base = HopperSparseFlashPrefill.Variant.DEFAULT;
        assertEquals(base, HopperSparseFlashPrefill.Variant.parse(" default "));
        assertEquals(base.withRangeBox(8).withGather(GatherArrival.WARP).withSchedule(HopperFlashLoop.Schedule
                .parse("lazy,warp")), HopperSparseFlashPrefill.Variant.parse("schedule=lazy,warp  range-box=8"
                + " gather=warp"));
        assertEquals(base.withOrder(LaunchOrder.LAST_FIRST).withPersistent(false).withKeysPerStep(128),
                HopperSparseFlashPrefill.Variant.parse("order=last-first keys-per-step=128 persistent=false"));
        assertEquals(base.withPrefetchTiles(2), HopperSparseFlashPrefill.Variant.parse("prefetch=2"));
        assertTrue(HopperSparseFlashPrefill.forHeadDim(128, base.withPrefetchTiles(2)).entryName().endsWith("_pf2"));
        for (String bad : new String[] {"range-box", "=16", "box=16", "range-box=12", "pairs=true range-box=16",
                "prefetch=5", "prefetch=2 gather=warp schedule=lazy,warp", "persistent=yes schedule=lazy",
                "persistent=true", "schedule=overlap,lazy,lag gather=warp", "schedule=overlap,lag prefetch=1",
                "prefetch=1 pairs=true gather=wait range-box=64 schedule=lazy", "persistent=true schedule=lazy",
                "cluster=true range-box=64 gather=wait schedule=lazy"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> HopperSparseFlashPrefill.Variant.parse(bad));
            assertTrue(e.getMessage().contains("minference.sparse.") || e.getMessage().contains("NAME=VALUE"),
                    bad + ": " + e.getMessage());
        }
        assertEquals(base.withSchedule(HopperFlashLoop.Schedule.parse("lazy")).withOrder(LaunchOrder.LONGEST_FIRST)
                .withPersistent(true), HopperSparseFlashPrefill.Variant.parse(
                        "persistent=true schedule=lazy order=longest-first"));
        HopperSparseFlashPrefill lagging = HopperSparseFlashPrefill.forHeadDim(128,
                HopperSparseFlashPrefill.Variant.parse("schedule=overlap,lazy,lag"));
        assertTrue(lagging.entryName().contains("_overlap_lazy_lag_"), lagging.entryName());
        // the producer's state for lagging values is declared only where the values lag: the default's PTX is as
        // it was before the option existed
        assertTrue(lagging.emit(PtxTarget.SM_90A).ptx().contains("laggedBoxStart"));
        assertFalse(HopperSparseFlashPrefill.forHeadDim(128, base).emit(PtxTarget.SM_90A).ptx()
                .contains("laggedBoxStart"));
    }

    /** Two consumers splitting the keys take the plain or lazy schedule only. */
    @Test
    void oneHundredTwentyEightKeysAStepRefuseTheOverlap() {
        var variant = HopperSparseFlashPrefill.Variant.DEFAULT.withKeysPerStep(128)
                .withSchedule(HopperFlashLoop.Schedule.parse("overlap"));
        var e = assertThrows(IllegalArgumentException.class, () -> HopperSparseFlashPrefill.forHeadDim(128, variant));
        assertTrue(e.getMessage().contains("plain or lazy"), e.getMessage());
    }

    /** The longest a slot can be (3 queryBlocks) falls in the last bucket or before, and short prompts keep width 1. */
    @Test
    void theLongestSlotFitsTheBuckets() {
        for (int queryBlocks : new int[] {1, 64, 341, 342, 2048, 8192, 65535}) {
            int width = SlotOrder.tilesPerBucket(queryBlocks);
            assertTrue(3L * queryBlocks / width < SlotOrder.BUCKETS, "query blocks " + queryBlocks + ", width " + width);
        }
        assertEquals(1, SlotOrder.tilesPerBucket(64));
    }
}
