package io.minference.bench;

import io.minference.bench.gpu.CopyBandwidthBenchmark;
import io.minference.bench.gpu.CublasGemmBenchmark;
import io.minference.bench.gpu.DslCopyBandwidthBenchmark;
import io.minference.bench.gpu.FallbackCrossoverBenchmark;
import io.minference.bench.gpu.DslTileGemmBenchmark;
import io.minference.bench.gpu.Figure;
import io.minference.bench.gpu.FlashAttentionBenchmark;
import io.minference.bench.gpu.GpuBenchmark;
import io.minference.bench.gpu.LayerGemmBenchmark;
import io.minference.bench.gpu.LaunchOverheadBenchmark;
import io.minference.bench.gpu.SparseEstimationBenchmark;
import io.minference.runtime.cuda.CudaAvailability;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaDriver;

import java.io.PrintStream;
import java.util.List;
import java.util.Optional;

/**
 * The GPU's ceilings, measured through this project's own CUDA runtime: device-to-device copy bandwidth, kernel
 * launch overhead (eager and from a CUDA graph), and cuBLASLt bf16 GEMM rate (square, and the 8B model's layer
 * GEMMs at several chunk sizes); beside them the kernel DSL's copy kernel
 * and tile GEMM on the same buffers. {@code minference gpu-bench} calls it.
 */
public final class GpuBench {
    private GpuBench() {
    }

    /**
     * The benchmarks, in the order they run: the GPU's ceilings, then the DSL kernels against them (bandwidth
     * kernel, tile GEMM, flash attention, sparse estimation, the sparse kernel against dense by index share).
     */
    public static List<GpuBenchmark> benchmarks() {
        return List.of(new CopyBandwidthBenchmark(), new DslCopyBandwidthBenchmark(), new LaunchOverheadBenchmark(),
                new CublasGemmBenchmark(4096), new CublasGemmBenchmark(8192),
                LayerGemmBenchmark.llama3of8b(LayerGemmBenchmark.TOKEN_COUNTS),
                new DslTileGemmBenchmark(4096, DslTileGemmBenchmark.VARIANTS),
                new DslTileGemmBenchmark(8192, DslTileGemmBenchmark.VARIANTS), new FlashAttentionBenchmark(),
                new SparseEstimationBenchmark(), new FallbackCrossoverBenchmark(32768));
    }

    public static void main(String[] args) {
        int status = run(benchmarks(), System.out);
        if (status != 0) System.exit(status);
    }

    /** Why the GPU benchmarks cannot run here (no driver, no device), or empty where they can. */
    public static Optional<String> missingGpu() {
        CudaAvailability availability = CudaDriver.availability();
        return availability.available() ? Optional.empty() : Optional.of(availability.reason());
    }

    /** Runs {@code benchmarks} on cuda:0 and prints their figures; returns a process exit status. */
    public static int run(List<GpuBenchmark> benchmarks, PrintStream out) {
        CudaAvailability availability = CudaDriver.availability();
        if (!availability.available()) {
            out.println("GPU benchmarks need CUDA: " + availability.reason());
            return 2;
        }
        int failures = 0;
        try (CudaBackend backend = CudaBackend.open(0)) {
            out.println("GPU: " + backend.device() + ", " + availability.reason());
            out.printf("%-62s %12s  %s%n", "figure", "value", "unit");
            for (GpuBenchmark benchmark : benchmarks) {
                try {
                    for (Figure figure : benchmark.run(backend)) {
                        out.printf("%-62s %12s  %s%n", figure.name(), format(figure.value()), figure.unit());
                    }
                } catch (RuntimeException e) {
                    failures++;
                    out.println(benchmark.name() + " failed: " + e.getMessage());
                }
                out.flush();
            }
        }
        return failures == 0 ? 0 : 1;
    }

    /** Two decimals, or three significant digits for small values such as relative errors. */
    static String format(double value) {
        return value != 0 && Math.abs(value) < 0.1 ? "%.3e".formatted(value) : "%.2f".formatted(value);
    }
}
