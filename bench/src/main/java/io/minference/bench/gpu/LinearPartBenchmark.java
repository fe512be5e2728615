package io.minference.bench.gpu;

import io.minference.config.KvCacheType;
import io.minference.kernels.flash.PhaseMarks;
import io.minference.llama.LlamaConfig;
import io.minference.llama.gpu.GpuLlamaForward;
import io.minference.llama.gpu.GpuLlamaWeights;
import io.minference.llama.gpu.GpuPhaseProfile;
import io.minference.llama.gpu.LinearKernel;
import io.minference.llama.gpu.SyntheticGpuWeights;
import io.minference.llama.synthetic.SyntheticShape;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cuda.CudaAvailability;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaDriver;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The prefill outside attention, per kernel, at several token chunks: synthetic weights made on the device, one
 * random prompt, the forward's layer-major prefill (FP8 cache, dense attention: what {@code bench --kv-cache fp8}
 * and the sparse prefills run), profiled with {@link GpuPhaseProfile}. Each chunk size gets a warm-up prefill and a
 * timed one, and the chunk sizes alternate order between lengths. Prints, per length and chunk, the linear phase,
 * the attention phase and the per-kernel line with floors ({@link LinearKernel#breakdown}). The chunk is the M of
 * every GEMM; {@link GpuLlamaForward#DEFAULT_CHUNK_SIZE} is what sessions use.
 *
 * <p>Arguments: {@code SHAPE LENGTH[,LENGTH...] CHUNK[,CHUNK...]}, e.g. {@code llama3-8b 32768,131072 2048,8192}.
 */
public final class LinearPartBenchmark {
    private LinearPartBenchmark() {
    }

    public static void main(String[] args) {
        if (args.length != 3) {
            System.err.println("usage: LinearPartBenchmark SHAPE LENGTH[,LENGTH...] CHUNK[,CHUNK...]"
                    + " (e.g. llama3-8b 32768,131072 2048,8192)");
            System.exit(2);
        }
        CudaAvailability availability = CudaDriver.availability();
        if (!availability.available()) {
            System.err.println("LinearPartBenchmark needs CUDA: " + availability.reason());
            System.exit(2);
        }
        SyntheticShape shape = SyntheticShape.parse(args[0]);
        int[] lengths = Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray();
        int[] chunks = Arrays.stream(args[2].split(",")).mapToInt(Integer::parseInt).toArray();
        long seed = new SplittableRandom().nextLong();
        System.out.println("prompt seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        try (CudaBackend backend = CudaBackend.open(0);
             GpuLlamaWeights weights = SyntheticGpuWeights.generate(backend, shape);
             GpuPhaseProfile profile = new GpuPhaseProfile(backend.context())) {
            LlamaConfig c = shape.config();
            System.out.println("GPU: " + backend.device() + "; synthetic:" + args[0]);
            for (int n = 0; n < lengths.length; n++) {
                int length = lengths[n];
                int[] prompt = random.ints(length, 0, c.vocabSize()).toArray();
                for (int k = 0; k < chunks.length; k++) {
                    int chunk = chunks[n % 2 == 0 ? k : chunks.length - 1 - k];
                    try (GpuLlamaForward warmUp = forward(weights, backend, length, chunk)) {
                        warmUp.prefill(prompt, ProgressListener.NONE);
                    }
                    try (GpuLlamaForward forward = forward(weights, backend, length, chunk)) {
                        backend.context().synchronize();
                        forward.markPhases(profile);
                        long start = System.nanoTime();
                        forward.prefill(prompt, ProgressListener.NONE);
                        GpuPhaseProfile.Breakdown breakdown = profile.finish(backend.stream());
                        double wall = (System.nanoTime() - start) / 1e9;
                        Map<PhaseMarks.Phase, Double> phases = breakdown.phases();
                        System.out.printf(Locale.ROOT, "%d tokens, chunk %d: prefill %.3f s, linear phase %.3f s,"
                                        + " attention %.3f s, KV store %.3f s%n", length, chunk, wall,
                                phases.get(PhaseMarks.Phase.LINEAR) / 1e3, phases.get(PhaseMarks.Phase.ATTENTION) / 1e3,
                                phases.get(PhaseMarks.Phase.KV_STORE) / 1e3);
                        Map<LinearKernel, Double> seconds = new EnumMap<>(LinearKernel.class);
                        breakdown.kernels().forEach((kernel, ms) -> seconds.put(kernel, ms / 1e3));
                        System.out.println("    " + LinearKernel.breakdown(c, length, 1, seconds));
                    }
                }
            }
        }
    }

    private static GpuLlamaForward forward(GpuLlamaWeights weights, CudaBackend backend, int length, int chunk) {
        return new GpuLlamaForward(weights, backend, length, chunk, true, KvCacheType.FP8);
    }
}
