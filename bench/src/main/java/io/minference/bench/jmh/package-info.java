/**
 * JMH benchmarks of the GPU through this project's CUDA runtime: device-to-device copy against the kernel DSL's copy
 * kernel, the DSL tile GEMM against cuBLASLt, and kernel launch overhead eager and from a CUDA graph. Run them
 * through {@link io.minference.bench.jmh.GpuJmh}, which says why and stops where no GPU is usable.
 */
package io.minference.bench.jmh;
