/**
 * Sparse prefill on the GPU, all in the PTX DSL: index estimation and building on the device, and sparse flash
 * attention on the tensor cores over a {@link io.minference.sparse.gpu.DeviceSparseIndex}: mma.sync
 * ({@link io.minference.sparse.gpu.SparseFlashPrefill}) or, on Hopper, wgmma and TMA
 * ({@link io.minference.sparse.gpu.HopperSparseFlashPrefill}). {@link io.minference.sparse.gpu.SparseKernels} lists
 * every kernel this package launches, for the kernel catalog.
 */
package io.minference.sparse.gpu;
