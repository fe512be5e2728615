package io.minference.runtime.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LaunchShapeAndBFloat16Test {

    @Test
    void coveringRoundsTheBlockCountUp() {
        assertEquals(LaunchShape.of(4, 256), LaunchShape.covering(1000, 256));
        assertEquals(LaunchShape.of(4, 256), LaunchShape.covering(1024, 256));
        assertEquals(LaunchShape.of(1, 256), LaunchShape.covering(0, 256));
    }

    @Test
    void impossibleShapesAreRejected() {
        IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
                () -> new LaunchShape(1, 1, 1, 32, 33, 1));
        assertTrue(big.getMessage().contains("1024 threads"), big.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LaunchShape.of(0, 32));
    }

    @Test
    void bfloat16RoundsToNearestEven() {
        assertEquals((short) 0x3F80, BFloat16.fromFloat(1f));
        assertEquals(1f, BFloat16.toFloat((short) 0x3F80));
        // exactly halfway between 1 and 1 + 2^-7: to the even one, 1
        assertEquals((short) 0x3F80, BFloat16.fromFloat(1f + 0x1p-8f));
        // halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even)
        assertEquals((short) 0x3F82, BFloat16.fromFloat(1f + 3 * 0x1p-8f));
        assertEquals((short) 0x3F81, BFloat16.fromFloat(1f + 0x1p-7f + 0x1p-12f));
        assertEquals(-2.5f, BFloat16.round(-2.5f));
        assertTrue(Float.isNaN(BFloat16.round(Float.NaN)));
        assertEquals(Float.POSITIVE_INFINITY, BFloat16.round(Float.POSITIVE_INFINITY));
    }
}
