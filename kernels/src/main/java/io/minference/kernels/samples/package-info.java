/**
 * Small kernels written in the PTX DSL that exercise its features one by one (vector add, reductions, cp.async,
 * copy bandwidth, a tensor-core tile GEMM, RMSNorm). Each documents its launch contract so the CUDA runtime can run
 * it against a CPU reference.
 */
package io.minference.kernels.samples;
