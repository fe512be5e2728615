package io.minference.runtime.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shape rules a tensor map is checked against before the driver sees it; each breach names its rule. */
class TensorMapTest {
    private static void assertRejected(String expected, long address, long[] dims, long[] strides, int[] box,
                                       TensorMap.Swizzle swizzle) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TensorMap.check(address, dims, strides, box, swizzle));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void theFlashPrefillKeyViewIsAccepted() {
        // K cache [keys, kvHeads, 128] seen as dims {128, kvHeads, keys}, a box of 64 elements x 1 head x 128 keys
        assertDoesNotThrow(() -> TensorMap.check(0x7000_0000L, new long[] {128, 8, 4097}, new long[] {256, 2048},
                new int[] {64, 1, 128}, TensorMap.Swizzle.BYTES_128));
    }

    /**
     * The attention kernels' view of a token-major {@code [rows, heads, width]} tensor, which both the runtime's
     * encoding and the PTX emulator read: dims innermost first, byte strides of a row and of a token, a box of 64
     * elements of one head over the given rows, 128-byte swizzled; and it passes the driver's rules.
     */
    @Test
    void theHeadRowsViewIsTheTokenMajorLayout() {
        TensorMap.Shape shape = TensorMap.Shape.headRows(4097, 8, 128, 64);
        assertArrayEquals(new long[] {128, 8, 4097}, shape.dimensions());
        assertArrayEquals(new long[] {256, 8 * 256}, shape.byteStrides());
        assertArrayEquals(new int[] {64, 1, 64}, shape.box());
        assertEquals(TensorMap.Swizzle.BYTES_128, shape.swizzle());
        assertDoesNotThrow(() -> TensorMap.check(0x7000_0000L, shape.dimensions(), shape.byteStrides(), shape.box(),
                shape.swizzle()));
    }

    @Test
    void shapeMistakesNameTheRule() {
        TensorMap.Swizzle s128 = TensorMap.Swizzle.BYTES_128;
        assertRejected("rank 1 to 5", 0, new long[6], new long[5], new int[6], s128);
        assertRejected("needs 1 strides", 0, new long[] {64, 8}, new long[] {}, new int[] {64, 8}, s128);
        assertRejected("16-byte-aligned", 8, new long[] {64, 8}, new long[] {128}, new int[] {64, 8}, s128);
        assertRejected("box size 1 must be 1..256", 0, new long[] {64, 1000}, new long[] {128}, new int[] {64, 300},
                s128);
        assertRejected("multiple of 16", 0, new long[] {64, 8}, new long[] {100}, new int[] {64, 8}, s128);
        assertRejected("at most 128 bytes", 0, new long[] {128, 8}, new long[] {256}, new int[] {128, 8}, s128);
        assertRejected("inner size must be a multiple of 16 bytes", 0, new long[] {64, 8}, new long[] {128},
                new int[] {4, 8}, TensorMap.Swizzle.NONE);
        assertRejected("dimension 1 must be", 0, new long[] {64, 0}, new long[] {128}, new int[] {64, 8}, s128);
    }
}
