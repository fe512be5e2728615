package io.minference.kernels.transformer;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RopeFrequenciesTest {
    @Test
    void hiPlusLoHoldsTheDoubleFrequencyTo48Bits() {
        float[] factors = RopeFrequencies.llama31Factors(128, 500000f, 8, 1, 4, 8192);
        float[] table = RopeFrequencies.table(128, 500000f, factors);
        for (int i = 0; i < 64; i++) {
            double f = Math.pow(500000f, -2.0 * i / 128) / factors[i];
            double stored = (double) table[2 * i] + table[2 * i + 1];
            assertEquals(table[2 * i], (float) f, "hi is f rounded to float at pair " + i);
            assertTrue(Math.abs(stored - f) <= 0x1p-47 * f, "pair " + i + ": " + stored + " vs " + f);
        }
    }

    @Test
    void llama31FactorsMatchHandComputedValues() {
        float[] factors = RopeFrequencies.llama31Factors(128, 500000f, 8, 1, 4, 8192);
        assertEquals(64, factors.length);
        // wavelength 2 pi / theta^(-2i/128): under 8192/4 = 2048 untouched, over 8192 divided by 8
        assertEquals(1f, factors[0]);
        assertEquals(1f, factors[28]); // wavelength 1956.5
        assertEquals(8f, factors[35]); // wavelength 8218.7
        assertEquals(8f, factors[63]);
        // pair 31: wavelength 3619.249, smooth = (8192/3619.249 - 1) / 3 = 0.421148, 1 / ((1 - s)/8 + s) = 2.026313
        assertEquals(2.0263132059050557, factors[31], 1e-6);
        assertEquals(1.207483871283662, factors[29], 1e-6);
        assertEquals(5.257326588708467, factors[34], 1e-6);
    }

    @Test
    void badShapesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> RopeFrequencies.table(7, 10000f, null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RopeFrequencies.table(8, 10000f, new float[3]));
        assertTrue(e.getMessage().contains("expected 4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RopeFrequencies.llama31Factors(128, 5e5f, 8, 4, 1, 8192));
    }
}
