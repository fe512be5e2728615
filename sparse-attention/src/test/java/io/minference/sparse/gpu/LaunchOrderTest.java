package io.minference.sparse.gpu;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The launch order's setting, and the bucket width of {@link SlotOrder}'s sort. */
class LaunchOrderTest {
    @Test
    void settingsParseAndAMisspellingNamesTheProperty() {
        assertEquals(LaunchOrder.LAST_FIRST, LaunchOrder.parse("last-first"));
        assertEquals(LaunchOrder.LONGEST_FIRST, LaunchOrder.parse(" Longest-First "));
        var e = assertThrows(IllegalArgumentException.class, () -> LaunchOrder.parse("longest"));
        assertTrue(e.getMessage().contains(LaunchOrder.PROPERTY) && e.getMessage().contains("'longest'"),
                e.getMessage());
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
