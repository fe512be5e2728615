/**
 * The GPU benchmarks that {@link io.minference.bench.GpuBench} runs: copy bandwidth, launch overhead and cuBLASLt
 * GEMM rate, each a {@link io.minference.bench.gpu.GpuBenchmark}.
 */
package io.minference.bench.gpu;
