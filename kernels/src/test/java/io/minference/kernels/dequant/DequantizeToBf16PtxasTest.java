package io.minference.kernels.dequant;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.catalog.KernelCatalog;
import io.minference.ptx.PtxTarget;
import org.junit.jupiter.api.Test;

/**
 * What the kernels' PTX must say for the twin to hold, and where they are listed; that they assemble for every target
 * is {@code TransformerKernelsPtxasTest}'s.
 */
class DequantizeToBf16PtxasTest {
    @Test
    void everyProductIsRoundedOnItsOwn() {
        for (PtxTarget target : PtxTarget.values()) {
            for (DequantizeToBf16 kernel : DequantizeToBf16.all()) {
                String ptx = kernel.emit(target).ptx();
                assertTrue(ptx.contains("mul.rn.f32") == kernel.type().isBlockType() && !ptx.contains("fma")
                        && !ptx.contains("mul.f32")
                        && !ptx.contains("sub.f32"), kernel.entryName() + " on " + target
                        + ": a product or difference ptxas may fuse");
                assertTrue(ptx.contains("cvt.rn.bf16x2.f32"), kernel.entryName() + " rounds to nearest even");
            }
        }
    }

    @Test
    void everyTypeIsInTheCatalogOfEveryTarget() {
        for (PtxTarget target : PtxTarget.values()) {
            var included = KernelCatalog.dense(new AttentionShape(32, 8, 128), target).included();
            for (DequantizeToBf16 kernel : DequantizeToBf16.all()) {
                assertTrue(included.contains(kernel), kernel.entryName() + " on " + target);
            }
        }
    }
}
