/**
 * Sparse prefill on the GPU, all in the PTX DSL: index estimation and building on the device, and sparse flash
 * attention on the tensor cores over a {@link io.minference.sparse.gpu.DeviceSparseIndex}.
 */
package io.minference.sparse.gpu;
