package io.minference.kernels.catalog;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashPrefill;
import io.minference.kernels.flash.GroupedFlashDecode;
import io.minference.kernels.flash.HopperFlashPrefill;
import io.minference.kernels.kvcache.KvCodes;
import io.minference.kernels.kvcache.KvQuantize;
import io.minference.kernels.transformer.RopeKvWrite;
import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.KernelDefinition;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the catalog lists per target, and the naming rule kernel engineers rely on. */
class KernelCatalogTest {
    private static final AttentionShape LLAMA_8B = new AttentionShape(32, 8, 128);

    @Test
    void onlyThePrefillKernelsAreNamedFlashPrefill() {
        for (PtxTarget target : PtxTarget.values()) {
            KernelCatalog catalog = KernelCatalog.dense(LLAMA_8B, target);
            for (KernelDefinition kernel : catalog.included()) {
                boolean prefill = kernel instanceof FlashPrefill || kernel instanceof HopperFlashPrefill;
                assertEquals(prefill, kernel.entryName().startsWith("flash_prefill"), kernel.entryName());
                assertTrue(!kernel.entryName().startsWith("sparse_flash_prefill"), kernel.entryName());
            }
        }
    }

    @Test
    void sm90aHasBothPrefillFamiliesAndSm80LeavesTheHopperOneOut() {
        KernelCatalog hopper = KernelCatalog.dense(LLAMA_8B, PtxTarget.SM_90A);
        assertEquals(2, hopper.included().stream().filter(k -> k.entryName().startsWith("flash_prefill")).count());
        assertEquals(List.of(), hopper.skipped());
        KernelCatalog ampere = KernelCatalog.dense(LLAMA_8B, PtxTarget.SM_80);
        assertEquals(List.of(HopperFlashPrefill.forHeadDim(128)), ampere.skipped());
        assertTrue(ampere.included().contains(FlashPrefill.forHeadDim(128)));
        int before = ampere.included().size();
        assertEquals(before, ampere.with(List.of(FlashPrefill.forHeadDim(128))).included().size(), "duplicates dropped");
    }

    @Test
    void theKvCacheKernelsOfBothCodeFormatsAreListedForEveryTarget() {
        for (PtxTarget target : PtxTarget.values()) {
            List<KernelDefinition> included = KernelCatalog.dense(LLAMA_8B, target).included();
            for (KvCodes codes : KvCodes.values()) {
                String what = codes + " on " + target;
                assertTrue(included.contains(new KvQuantize(8, 128, codes)), what);
                assertTrue(included.contains(new RopeKvWrite(32, 8, 128).withStartOnDevice().withCacheCodes(codes)),
                        what);
                assertTrue(included.contains(new GroupedFlashDecode(128, 4, true, codes)), what);
            }
            boolean instruction = included.stream().anyMatch(kernel -> kernel.emit(target).ptx()
                    .contains("cvt.rn.f16x2.e4m3x2"));
            assertEquals(target == PtxTarget.SM_90A, instruction, "the e4m3 conversion instruction only on sm_90a, "
                    + target);
        }
    }
}
