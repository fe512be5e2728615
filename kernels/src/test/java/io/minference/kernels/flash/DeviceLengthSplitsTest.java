package io.minference.kernels.flash;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The key ranges of {@link FlashDecode} with the length on the device, in Java integers as the kernel forms them:
 * splits fixed by the capacity, {@code ceil(length / splits)} keys each, clamped to the length. Every key lies in
 * exactly one split, whatever the length up to the capacity, and the splits past the length are empty.
 */
class DeviceLengthSplitsTest {
    @Test
    void everyKeyLiesInExactlyOneSplitAtEveryLength() {
        int[][] shapes = {{32, 132}, {32, 108}, {8, 132}, {4, 16}};
        for (int[] shape : shapes) {
            for (int capacity : new int[] {1, 7, 1000, 4097, 32904}) {
                int splits = FlashAttention.splitBlocks(capacity, shape[0], shape[1]) * FlashDecode.SPLITS_PER_BLOCK;
                for (int length = 1; length <= capacity; length += Math.max(1, capacity / 997)) {
                    check(capacity, splits, length);
                }
                check(capacity, splits, capacity);
            }
        }
    }

    private static void check(int capacity, int splits, int length) {
        int keysPerSplit = (length + splits - 1) / splits;
        int covered = 0;
        int expectedFirst = 0;
        for (int split = 0; split < splits; split++) {
            int first = Math.min(split * keysPerSplit, length);
            int end = Math.min(first + keysPerSplit, length);
            assertEquals(expectedFirst, first, "splits must tile the keys in order");
            assertTrue(end >= first);
            covered += end - first;
            expectedFirst = end;
        }
        assertEquals(length, covered, "capacity " + capacity + ", " + splits + " splits, length " + length);
        assertTrue(keysPerSplit >= 1);
    }
}
