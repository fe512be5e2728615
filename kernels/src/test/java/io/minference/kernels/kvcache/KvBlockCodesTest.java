package io.minference.kernels.kvcache;

import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.assertEquals;

/** The int8 codes of the 8-bit KV cache: rounding and clamping ({@link KvCodesTest} has the blocks). */
class KvBlockCodesTest {
    @Test
    void codesAreTheNearestIntegerTiesToEvenClampedTo127() {
        assertEquals(0, KvBlockCodes.encode(0.5f));
        assertEquals(2, KvBlockCodes.encode(1.5f));
        assertEquals(2, KvBlockCodes.encode(2.5f));
        assertEquals(-2, KvBlockCodes.encode(-2.5f));
        assertEquals(3, KvBlockCodes.encode(2.5000002f));
        assertEquals(127, KvBlockCodes.encode(127.4f));
        assertEquals(127, KvBlockCodes.encode(1e30f));
        assertEquals(-127, KvBlockCodes.encode(Float.NEGATIVE_INFINITY));
        assertEquals(0, KvBlockCodes.encode(Float.NaN));
        assertEquals(0, KvBlockCodes.encode(-0.3f));
        for (int c = -127; c <= 127; c++) assertEquals(c, KvBlockCodes.encode(KvBlockCodes.decode((byte) c)));
    }
}
