package io.minference.ptx;

import java.util.List;

/**
 * A kernel ready to be loaded: the PTX module text for a target, its entry name and its parameters. This is the
 * seam between the DSL (which produces it) and the CUDA runtime (which JIT-loads and launches it).
 *
 * @param entryName  the {@code .entry} name inside the module
 * @param params     the parameters in launch order
 * @param ptx        the whole PTX module, {@code .version}/{@code .target} header included
 * @param target     the architecture the PTX was emitted for
 * @param sharedMemoryBytes dynamic shared memory the kernel expects at launch (0 if none)
 */
public record KernelSource(String entryName, List<KernelParam> params, String ptx, PtxTarget target,
                           int sharedMemoryBytes) {
}
