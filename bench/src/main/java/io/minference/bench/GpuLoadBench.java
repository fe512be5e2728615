package io.minference.bench;

import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.llama.gguf.GgufFile;
import io.minference.llama.gguf.GgufLlama;
import io.minference.llama.gguf.GgufTensorInfo;
import io.minference.llama.gguf.RandomQ4_0Model;
import io.minference.llama.gpu.GpuLlamaWeights;
import io.minference.llama.gpu.WeightStreaming;
import io.minference.runtime.HostMemory;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cuda.CudaAvailability;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaDriver;
import io.minference.runtime.cuda.MemoryInfo;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Load time and peak host memory of putting a GGUF model on the GPU: the file is mapped, every tensor checked, and the
 * weights streamed to the device ({@link GpuLlamaWeights#upload}: block types as raw blocks through one pinned staging
 * buffer, expanded to bf16 on the device). Host memory is the process's anonymous resident memory (RssAnon in
 * /proc/self/status, which leaves out the mapped file's pages), sampled every millisecond by a second thread; the
 * bound it is held to is the largest tensor plus 1 GiB over what the CUDA context itself took.
 *
 * <p>{@code write FILE [LAYERS]} makes an LLaMA-3-8B-shaped Q4_0 file of random weights ({@link RandomQ4_0Model}; 32
 * layers by default, 4.3 GiB), for a machine with no model and no network; {@code load FILE [ROUNDS]} measures
 * (3 rounds by default, the first cold in the CUDA context). Run with a small heap ({@code -Xmx1g}): the heap's
 * committed size counts in RssAnon.
 */
public final class GpuLoadBench {
    private static final long GIB = 1L << 30;
    private static final long MIB = 1L << 20;

    private GpuLoadBench() {
    }

    public static void main(String[] args) throws IOException {
        int status = run(args, System.out);
        if (status != 0) System.exit(status);
    }

    /** Runs one command; returns a process exit status (2 for bad arguments or no GPU). */
    static int run(String[] args, PrintStream out) throws IOException {
        if (args.length >= 2 && args.length <= 3 && args[0].equals("write")) {
            int layers = args.length == 3 ? parseCount(args[2]) : 32;
            if (layers < 1) return usage(out, "LAYERS must be a positive integer, got '" + args[2] + "'");
            LlamaConfig c = RandomQ4_0Model.LLAMA_3_8B;
            LlamaConfig shape = new LlamaConfig(c.dim(), c.hiddenDim(), layers, c.numHeads(), c.numKvHeads(),
                    c.vocabSize(), c.contextLength(), c.ropeTheta(), c.rmsEps());
            long start = System.nanoTime();
            Path file = RandomQ4_0Model.write(Path.of(args[1]), shape, System.nanoTime());
            out.printf("wrote %s: LLaMA-3-8B shape, %d layers, Q4_0, %.2f GiB in %.1f s%n", file, layers,
                    Files.size(file) / (double) GIB, (System.nanoTime() - start) / 1e9);
            return 0;
        }
        if (args.length >= 2 && args.length <= 3 && args[0].equals("load")) {
            int rounds = args.length == 3 ? parseCount(args[2]) : 3;
            if (rounds < 1) return usage(out, "ROUNDS must be a positive integer, got '" + args[2] + "'");
            Path file = Path.of(args[1]);
            if (!Files.isRegularFile(file)) return usage(out, "no such file: " + file);
            return load(file, rounds, out);
        }
        return usage(out, null);
    }

    private static int usage(PrintStream out, String problem) {
        if (problem != null) out.println("gpu-load-bench: " + problem);
        out.println("usage: GpuLoadBench write FILE [LAYERS]   an LLaMA-3-8B-shaped Q4_0 GGUF of random weights");
        out.println("       GpuLoadBench load FILE [ROUNDS]    load time and peak RssAnon of uploading FILE to cuda:0");
        return 2;
    }

    /** The integer {@code text}, or -1 where it is not one. */
    private static int parseCount(String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static int load(Path file, int rounds, PrintStream out) {
        CudaAvailability availability = CudaDriver.availability();
        if (!availability.available()) {
            out.println("gpu-load-bench needs CUDA: " + availability.reason());
            return 2;
        }
        long beforeContext = rssAnon();
        try (CudaContext context = CudaContext.open(0)) {
            long afterContext = rssAnon();
            out.printf("GPU %s; file %s, %.2f GiB; RssAnon %d MiB before the CUDA context, %d MiB after%n",
                    context.device(), file, size(file) / (double) GIB, beforeContext / MIB, afterContext / MIB);
            out.printf("%-6s %8s %10s %9s %12s %14s %14s %10s%n", "round", "open s", "upload s", "GB/s",
                    "peak MiB", "over ctx MiB", "bound MiB", "device GiB");
            for (int round = 1; round <= rounds; round++) {
                long base = rssAnon();
                MemoryInfo free = context.memoryInfo();
                try (RssSampler sampler = new RssSampler()) {
                    long t0 = System.nanoTime();
                    GgufFile gguf = GgufFile.open(file);
                    long largest = gguf.tensors().stream().mapToLong(GgufTensorInfo::byteSize).max().orElse(0);
                    LlamaConfig config = GgufLlama.readConfig(gguf);
                    try (LlamaWeights weights = GgufLlama.mapWeights(gguf, config, ProgressListener.NONE)) {
                        long t1 = System.nanoTime();
                        try (GpuLlamaWeights gpu = GpuLlamaWeights.upload(context, config, weights)) {
                            context.synchronize();
                            long t2 = System.nanoTime();
                            long peak = sampler.stop();
                            long device = free.freeBytes() - context.memoryInfo().freeBytes();
                            long bound = largest + GIB;
                            out.printf("%-6d %8.2f %10.2f %9.2f %12d %14d %14d %10.2f%s%n", round, (t1 - t0) / 1e9,
                                    (t2 - t1) / 1e9, size(file) / ((t2 - t1) / 1e9) / 1e9, peak / MIB,
                                    (peak - afterContext) / MIB, bound / MIB, device / (double) GIB,
                                    peak - afterContext <= bound ? "" : "  OVER THE BOUND");
                            if (round == 1) {
                                out.printf("  %d layers, largest tensor %d MiB, staging %d MiB pinned (counted in"
                                                + " RssAnon), RssAnon at the round's start %d MiB%n",
                                        config.numLayers(), largest / MIB,
                                        WeightStreaming.DEFAULT_STAGING_BYTES / MIB, base / MIB);
                            }
                        }
                    }
                }
            }
        }
        return 0;
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new IllegalStateException("cannot size " + file, e);
        }
    }

    /** The process's anonymous resident memory (heap, native allocations, pinned buffers; not mapped files). */
    static long rssAnon() {
        return HostMemory.residentAnonymousBytes().orElseThrow(
                () -> new IllegalStateException("gpu-load-bench reads RssAnon from /proc/self/status, which has none"));
    }

    /** The peak of {@link #rssAnon}, sampled every millisecond on a daemon thread until stopped. */
    private static final class RssSampler implements AutoCloseable {
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;
        private volatile long peak = rssAnon();

        RssSampler() {
            thread = Thread.ofPlatform().daemon().name("rss-sampler").start(() -> {
                while (running.get()) {
                    peak = Math.max(peak, rssAnon());
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        /** Stops sampling and returns the peak, with one last sample. */
        long stop() {
            running.set(false);
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return Math.max(peak, rssAnon());
        }

        @Override
        public void close() {
            stop();
        }
    }
}
