package io.minference.runtime.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The GEMM's autotune setting and choice, without a GPU. */
class CublasLtGemmSettingsTest {
    @Test
    void theAutotuneSettingIsTrueOrFalseAndOffUnlessSet() {
        assertFalse(CublasLtGemm.autotuneConfigured(null));
        assertTrue(CublasLtGemm.autotuneConfigured("true"));
        assertFalse(CublasLtGemm.autotuneConfigured(" false "));
        for (String bad : new String[] {"yes", "TRUE", "", "1"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> CublasLtGemm.autotuneConfigured(bad));
            assertEquals("minference.gemm.autotune must be true or false, not '" + bad + "'", e.getMessage());
        }
    }

    @Test
    void theFastestCandidateIsKeptAndTiesGoToTheHeuristicsOrder() {
        assertEquals(2, CublasLtGemm.fastest(new double[] {1.30, 1.25, 1.21, 1.40}));
        assertEquals(0, CublasLtGemm.fastest(new double[] {1.0, 1.0, 1.2}));
        assertEquals(0, CublasLtGemm.fastest(new double[] {0.5}));
    }
}
