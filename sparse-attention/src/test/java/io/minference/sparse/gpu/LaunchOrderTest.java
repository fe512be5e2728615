package io.minference.sparse.gpu;

import io.minference.kernels.flash.HopperFlashLoop;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Hopper sparse kernel's settings (launch order, gather arrival, the whole variant), and the bucket width of
 * {@link SlotOrder}'s sort. */
class LaunchOrderTest {
    @Test
    void settingsParseAndAMisspellingNamesTheProperty() {
        assertEquals(LaunchOrder.LAST_FIRST, LaunchOrder.parse("last-first"));
        assertEquals(LaunchOrder.LONGEST_FIRST, LaunchOrder.parse(" Longest-First "));
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
            assertEquals("longest-first, lazy,warp, warp, 128 keys a step",
                    HopperSparseFlashPrefill.Variant.configured().describe());
            for (String bad : new String[] {"96", "sixty-four", ""}) {
                System.setProperty(keys, bad);
                var e = assertThrows(IllegalArgumentException.class, HopperSparseFlashPrefill.Variant::configured);
                assertTrue(e.getMessage().contains(keys + " must be 64 or 128"), e.getMessage());
            }
            System.clearProperty(keys);
            System.setProperty(GatherArrival.PROPERTY, "later");
            var e = assertThrows(IllegalArgumentException.class, HopperSparseFlashPrefill.Variant::configured);
            assertTrue(e.getMessage().contains(GatherArrival.PROPERTY), e.getMessage());
            System.clearProperty(GatherArrival.PROPERTY);
            System.setProperty(HopperSparseFlashPrefill.SCHEDULE_PROPERTY, "lazy");
            System.setProperty(HopperSparseFlashPrefill.PAIRS_PROPERTY, "true");
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
            System.clearProperty(HopperSparseFlashPrefill.PAIRS_PROPERTY);
            System.clearProperty(keys);
            System.clearProperty(GatherArrival.PROPERTY);
            System.clearProperty(HopperSparseFlashPrefill.SCHEDULE_PROPERTY);
        }
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
