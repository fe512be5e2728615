package io.minference.ptx.dsl;

import io.minference.ptx.KernelSource;
import io.minference.ptx.PtxTarget;

/**
 * A kernel as a value: implement it as a record whose components are the Java-level specialization parameters
 * (tile sizes, head dimension ...). {@link #emit} renders each (specialization, target) once and then returns the
 * cached {@link KernelSource}.
 */
public interface KernelDefinition {
    /** The entry name, which should spell out the specialization: {@code tile_gemm_128x128x64}. */
    String entryName();

    /**
     * The oldest target the kernel can be emitted for: {@link PtxTarget#SM_80} unless it uses Hopper instructions
     * (wgmma, TMA, mbarrier transactions, setmaxnreg), which need {@link PtxTarget#SM_90A}.
     */
    default PtxTarget minimumTarget() {
        return PtxTarget.SM_80;
    }

    /** True when the kernel can be emitted for {@code target}. */
    default boolean supports(PtxTarget target) {
        return target.compareTo(minimumTarget()) >= 0;
    }

    /** Writes the kernel body. */
    void define(KernelBuilder k);

    /** The PTX for {@code target}, built on first use and cached. */
    default KernelSource emit(PtxTarget target) {
        return KernelCache.shared().get(this, target);
    }
}
