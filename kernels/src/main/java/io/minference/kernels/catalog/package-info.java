/**
 * The kernels the runtime launches, listed: {@link io.minference.kernels.catalog.KernelCatalog} names every
 * specialization a model shape needs on a target (the dense layer's and, added by the sparse module, the sparse
 * ones), for tools that dump or check them without a GPU.
 */
package io.minference.kernels.catalog;
