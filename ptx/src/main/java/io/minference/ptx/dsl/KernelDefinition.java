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

    /** Writes the kernel body. */
    void define(KernelBuilder k);

    /** The PTX for {@code target}, built on first use and cached. */
    default KernelSource emit(PtxTarget target) {
        return KernelCache.shared().get(this, target);
    }
}
