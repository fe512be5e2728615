package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.runtime.cuda.CudaAvailability;
import io.minference.runtime.cuda.CudaDriver;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The 1M benchmark's command path, small: bench with sparse and dense modes and an FP8 KV cache on the GPU prints,
 * per mode, the breakdown, the peak device memory, decode tokens/s and the energy (or one line that NVML is absent),
 * and the decode step's device time by kind of kernel beside each kind's floor.
 */
@Tag("gpu")
class BenchGpuTest {
    @Test
    void sparseBenchWithAnInt8CacheReportsBreakdownMemoryDecodeAndEnergy() {
        CudaAvailability availability = CudaDriver.availability();
        assumeTrue(availability.available(), () -> "no usable CUDA device: " + availability.reason());
        CliRun run = CliRun.of("bench", "--model", "synthetic:tiny", "--lengths", "4k,8k", "--attention",
                "dense,minference", "--sparse-threshold", "0", "--kv-cache", "int8", "--decode-tokens", "8",
                "--device", "cuda");
        System.out.println(run.out());
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().contains("KV cache int8"), run.toString());
        for (String mode : new String[] {"dense", "minference"}) {
            long lines = run.out().lines().filter(l -> l.strip().startsWith(mode + ":")).count();
            long kernelLines = run.out().lines().filter(l -> l.strip().startsWith(mode + " kernels:")).count();
            assertEquals(2, kernelLines, mode + " kernel lines, one per length: " + run);
            long breakdowns = run.out().lines()
                    .filter(l -> l.strip().startsWith(mode + ": decode step by kind")).count();
            assertEquals(2, breakdowns, mode + " decode breakdowns, one per length: " + run);
            assertEquals(4, lines, mode + " details and decode breakdowns, one each per length: " + run);
        }
        for (String part : new String[] {"linear layers", "attention kernels", "estimation and index", "KV store",
                "peak device memory", "decode", "tok/s (floor", "prefill energy", "outside attention, seconds (floor)",
                "QKV GEMM", "SwiGLU", "LM head", "split-K attention", "split combine", "LM head GEMV",
                "floor of the step"}) {
            assertTrue(run.out().contains(part), part + " in " + run);
        }
        boolean measured = run.out().contains(" W mean") || run.out().contains("too short for NVML's energy counter");
        assertTrue(measured || run.out().contains("energy: not measured (NVML: "), run.toString());
    }

    @Test
    void benchWithTheKvCacheOffloadedReportsDecodeAgainstTheHostLinkFloor() {
        CudaAvailability availability = CudaDriver.availability();
        assumeTrue(availability.available(), () -> "no usable CUDA device: " + availability.reason());
        for (String cache : new String[] {"bf16", "int8", "fp8"}) {
            CliRun run = CliRun.of("bench", "--model", "synthetic:tiny", "--lengths", "4k", "--attention",
                    "dense,minference", "--sparse-threshold", "0", "--kv-cache", cache, "--kv-offload", "host",
                    "--decode-tokens", "70", "--device", "cuda");
            System.out.println(run.out());
            assertEquals(0, run.exitCode(), run.toString());
            assertTrue(run.out().contains("KV cache offloaded to pinned host memory (decode eager, no graph)"),
                    run.toString());
            assertTrue(run.err().contains("(two layers' slots)") && run.err().contains("pinned host memory: every"
                    + " layer's KV cache"), "the device plan states the offload: " + run.err());
            assertTrue(run.out().contains("GB/s host to device), "), "the decode floor counts the link: " + run);
        }
    }
}
