/**
 * The kernel DSL: typed registers ({@link io.minference.ptx.dsl.F32}, {@link io.minference.ptx.dsl.U32} ...),
 * a {@link io.minference.ptx.dsl.KernelBuilder} whose instruction families are small mixin interfaces, structured
 * control flow as lambdas, and {@link io.minference.ptx.dsl.KernelDefinition} records whose emitted PTX is cached
 * per specialization and target.
 * <p>Hopper (sm_90a) families: {@link io.minference.ptx.dsl.WarpgroupOps} (wgmma with shared-memory
 * {@link io.minference.ptx.dsl.MatrixDescriptor}s and {@link io.minference.ptx.dsl.WarpgroupAccumulator}s),
 * {@link io.minference.ptx.dsl.MBarriers} (split arrive/wait barriers with transaction counts),
 * {@link io.minference.ptx.dsl.TensorCopy} (TMA loads through a {@link io.minference.ptx.dsl.TensorMapParam} kernel
 * parameter), and in {@link io.minference.ptx.dsl.Synchronization} setmaxnreg, named barriers and the async-proxy
 * fence. A kernel using them says so through {@link io.minference.ptx.dsl.KernelDefinition#minimumTarget()}.
 */
package io.minference.ptx.dsl;
