package io.minference.llama.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.llama.forward.HostMemoryPlan;
import io.minference.llama.forward.LlamaForward;
import io.minference.llama.gguf.GgmlType;
import io.minference.llama.gguf.GgufFile;
import io.minference.llama.gguf.GgufLlama;
import io.minference.llama.gguf.GgufTensorInfo;
import io.minference.llama.gguf.RandomQ4_0Model;
import io.minference.runtime.DType;
import io.minference.runtime.HostMemory;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A LLaMA-3-8B-shaped Q4_0 file (every tensor of the real model's size: a 128256 × 4096 embedding and classifier,
 * 4096-wide attention with 8 KV heads, a 14336-wide MLP) on one layer instead of 32, to keep the file at 0.7 GB. It
 * is opened on the CPU, where it stays in the mapping, decodes tokens within the host memory plan, and streams every
 * tensor through the GPU upload path into a sink that needs no device, within the host bound of the largest tensor
 * plus 1 GiB of anonymous memory (the mapped file's pages do not count). The matrices reach the sink as raw Q4_0
 * blocks, which it expands with the device kernel's CPU twin, as the device upload does on the GPU.
 *
 * <p>Memory is measured as anonymous resident memory outside the Java heap ({@link #offHeapAnon}): the heap is
 * bounded by -Xmx and grows with whatever the other tests in the same JVM left behind, which would make the bounds
 * measure them rather than this path.
 */
class EightBillionShapeTest {
    private static final LlamaConfig SHAPE = RandomQ4_0Model.LLAMA_3_8B;
    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void opensInPlaceDecodesAndStreamsWithinTheMemoryBounds() throws IOException {
        long seed = System.nanoTime();
        System.out.println("8B-shaped Q4_0 seed " + seed);
        Path file = RandomQ4_0Model.write(dir.resolve("llama3-8b-shape-q4_0.gguf"), SHAPE, seed);
        System.out.printf("file %.2f GiB%n", Files.size(file) / (double) (1L << 30));

        long beforeOpen = offHeapAnon();
        GgufFile gguf = GgufFile.open(file);
        LlamaConfig config = GgufLlama.readConfig(gguf);
        assertEquals(SHAPE, config);
        try (LlamaWeights weights = GgufLlama.mapWeights(gguf, config, ProgressListener.NONE);
             CpuBackend backend = new CpuBackend(2)) {
            long opened = offHeapAnon() - beforeOpen;
            System.out.printf("anonymous memory taken by opening: %d MiB%n", opened / MIB);
            assertTrue(opened < 64 * MIB, "opening copied " + opened / MIB + " MiB; the weights stay in the mapping");
            assertEquals(DType.Q4_0, weights.layers().getFirst().wGate().dtype());

            int capacity = 16;
            // Two unmeasured steps first, so that the JIT compiles the decode loops in them: C2's arenas are anonymous
            // memory, and one CI run counted 443 MiB in the measured steps against a 9 MiB plan where the runs
            // before it counted 0-2 MiB (likely a compilation falling inside the window; not confirmed).
            try (LlamaForward warmUp = new LlamaForward(config, weights, backend, capacity)) {
                warmUp.decode(128000);
                warmUp.decode(1);
            }
            long beforeRun = offHeapAnon();
            try (LlamaForward forward = new LlamaForward(config, weights, backend, capacity)) {
                float[] logits = forward.decode(128000);
                logits = forward.decode((int) (seed & 0xFFFF));
                for (float v : logits) assertTrue(Float.isFinite(v), "a logit is not finite");
                long run = offHeapAnon() - beforeRun;
                long plan = HostMemoryPlan.of(config, capacity, capacity, backend.threads()).totalBytes();
                System.out.printf("anonymous memory taken by two decode steps: %d MiB (plan %d MiB)%n", run / MIB,
                        plan / MIB);
                assertTrue(run < plan + 256 * MIB, "decoding took " + run / MIB + " MiB, plan " + plan / MIB);
            }

            long largest = gguf.tensors().stream().mapToLong(GgufTensorInfo::byteSize).max().orElseThrow();
            long beforeStream = offHeapAnon();
            CountingSink sink = new CountingSink(beforeStream);
            WeightStreaming.stream(config, weights, sink, WeightStreaming.DEFAULT_STAGING_BYTES);
            long peak = sink.peakRssAnon - beforeStream;
            System.out.printf("streamed %.2f GiB of bf16 in %d chunks; peak anonymous memory over the start %d MiB"
                    + " (bound: largest tensor %d MiB + 1024 MiB)%n", sink.bytes / (double) (1L << 30), sink.chunks,
                    peak / MIB, largest / MIB);
            long expected = 2L * (2L * config.vocabSize() * config.dim()
                    + (long) config.dim() * (config.dim() + 2 * config.kvDim()) + (long) config.dim() * config.dim()
                    + 3L * config.hiddenDim() * config.dim());
            assertEquals(expected, sink.bytes, "every matrix streamed once, in bf16");
            long quantized = gguf.tensors().stream().filter(t -> t.type() == GgmlType.Q4_0)
                    .mapToLong(GgufTensorInfo::byteSize).sum();
            assertEquals(quantized, sink.rawBytes, "every matrix reached the sink as its raw Q4_0 blocks");
            assertTrue(peak <= largest + 1024 * MIB, "streaming peaked at " + peak / MIB + " MiB of anonymous memory");
        }
    }

    /** Counts what arrives and samples RssAnon at every chunk; holds nothing. */
    private static final class CountingSink implements WeightStreaming.Sink<Long> {
        long bytes;
        long rawBytes;
        long chunks;
        long peakRssAnon;

        CountingSink(long start) {
            peakRssAnon = start;
        }

        @Override
        public Long matrix(String name, long rows, long cols, WeightStreaming.Fill fill) {
            long[] next = {0};
            WeightStreaming.Writer writer = (offset, chunk) -> {
                assertEquals(next[0], offset, name + ": chunks out of order");
                next[0] += chunk.byteSize();
                chunks++;
                if (chunks % 8 == 0) peakRssAnon = Math.max(peakRssAnon, offHeapAnon());
            };
            // raw blocks, expanded by the device kernel's CPU twin, as a device would expand them
            fill.into(writer, (firstRow, count, width, type, blocks) -> {
                rawBytes += blocks.byteSize();
                WeightStreaming.expandOnHost(cols, writer).write(firstRow, count, width, type, blocks);
            });
            assertEquals(2 * rows * cols, next[0], name + ": not every byte was written");
            bytes += next[0];
            peakRssAnon = Math.max(peakRssAnon, offHeapAnon());
            return next[0];
        }

        @Override
        public Long vector(String name, Tensor values) {
            return values.byteSize();
        }
    }

    /**
     * The process's anonymous resident memory (not mapped files) less the Java heap's committed size: what native
     * allocations (tensors, staging, the KV cache) and the JVM itself hold.
     */
    static long offHeapAnon() {
        return rssAnon() - Runtime.getRuntime().totalMemory();
    }

    /** The process's anonymous resident memory (heap, native allocations; not mapped files), from /proc. */
    static long rssAnon() {
        return HostMemory.residentAnonymousBytes().orElseThrow(
                () -> new IllegalStateException("/proc/self/status has no RssAnon line"));
    }
}
