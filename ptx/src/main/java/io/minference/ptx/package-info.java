/**
 * The seam between the kernel DSL ({@code io.minference.ptx.dsl}, {@code io.minference.ptx.tile}) and the CUDA runtime:
 * {@link io.minference.ptx.KernelSource} carries a kernel's PTX, entry name and parameters; {@link io.minference.ptx.Ptxas}
 * checks PTX offline where NVIDIA's assembler is installed.
 */
package io.minference.ptx;
