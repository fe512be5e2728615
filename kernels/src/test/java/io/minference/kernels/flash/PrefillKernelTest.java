package io.minference.kernels.flash;

import io.minference.ptx.PtxTarget;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The prefill-family setting: its spellings, its choice per target, and clear errors. */
class PrefillKernelTest {
    @Test
    void autoTakesHopperOnlyOnSm90() {
        assertTrue(PrefillKernel.AUTO.usesHopper(PtxTarget.SM_90A));
        assertFalse(PrefillKernel.AUTO.usesHopper(PtxTarget.SM_80));
        assertFalse(PrefillKernel.MMA_SYNC.usesHopper(PtxTarget.SM_90A));
        assertTrue(PrefillKernel.HOPPER.usesHopper(PtxTarget.SM_90A));
    }

    @Test
    void spellingsAndMistakes() {
        assertEquals(PrefillKernel.MMA_SYNC, PrefillKernel.parse(" MMA-SYNC "));
        assertEquals(PrefillKernel.HOPPER, PrefillKernel.parse("hopper"));
        var bad = assertThrows(IllegalArgumentException.class, () -> PrefillKernel.parse("wgmma"));
        assertEquals("minference.attention.kernel must be auto, mma-sync or hopper, not 'wgmma'", bad.getMessage());
        var old = assertThrows(IllegalStateException.class, () -> PrefillKernel.HOPPER.usesHopper(PtxTarget.SM_80));
        assertTrue(old.getMessage().contains("needs an sm_90 device"), old.getMessage());
    }

    @Test
    void theHopperKernelsLaunchContract() {
        HopperFlashPrefill kernel = HopperFlashPrefill.forHeadDim(128);
        var source = kernel.emit(PtxTarget.SM_90A);
        assertTrue(source.entryName().startsWith("flash_prefill"), source.entryName());
        assertEquals(kernel.sharedBytes(), source.sharedMemoryBytes());
        assertEquals(List.of("q", "k", "v", "o", "count", "start", "numHeads", "numKvHeads", "scale"),
                source.params().stream().map(p -> p.name()).toList());
        for (String instruction : new String[] {"wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16",
                "cp.async.bulk.tensor.3d", "setmaxnreg.inc", "mbarrier.try_wait.parity"}) {
            assertTrue(source.ptx().contains(instruction), instruction);
        }
        assertEquals(8, kernel.queryBlocks(1000));
        assertThrows(IllegalArgumentException.class, () -> new HopperFlashPrefill(128, 256, 3));
        assertThrows(IllegalArgumentException.class, () -> new HopperFlashPrefill(96, 128, 2));
        assertThrows(IllegalArgumentException.class, () -> new HopperFlashPrefill(128, 96, 64, 3,
                HopperFlashLoop.Schedule.PLAIN));
    }

    /**
     * The persistent dense kernel: one more parameter (the heads of the grid a block per unit would have had), one
     * more barrier, and chosen by {@value HopperFlashPrefill#PERSISTENT_PROPERTY}, whose misspelling is an error
     * naming it.
     */
    @Test
    void thePersistentKernelIsChosenByItsProperty() {
        HopperFlashPrefill persistent = new HopperFlashPrefill(128, HopperFlashPrefill.BLOCK_M, 128, 2,
                HopperFlashLoop.Schedule.PLAIN, true);
        var source = persistent.emit(PtxTarget.SM_90A);
        assertTrue(source.entryName().endsWith("_persistent"), source.entryName());
        assertEquals("heads", source.params().getLast().name());
        assertEquals(new HopperFlashPrefill(128, 128, 2).sharedBytes() + 8, persistent.sharedBytes());
        String before = System.getProperty(HopperFlashPrefill.PERSISTENT_PROPERTY);
        try {
            System.clearProperty(HopperFlashPrefill.PERSISTENT_PROPERTY);
            assertEquals(HopperFlashPrefill.forHeadDim(128), HopperFlashPrefill.configured(128));
            System.setProperty(HopperFlashPrefill.PERSISTENT_PROPERTY, "true");
            assertEquals(persistent, HopperFlashPrefill.configured(128));
            System.setProperty(HopperFlashPrefill.PERSISTENT_PROPERTY, "yes");
            var bad = assertThrows(IllegalArgumentException.class, () -> HopperFlashPrefill.configured(128));
            assertTrue(bad.getMessage().contains(HopperFlashPrefill.PERSISTENT_PROPERTY), bad.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty(HopperFlashPrefill.PERSISTENT_PROPERTY);
            } else {
                System.setProperty(HopperFlashPrefill.PERSISTENT_PROPERTY, before);
            }
        }
    }
}
