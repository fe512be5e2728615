package io.minference.bench.gpu;

import io.minference.bench.GpuBench;
import io.minference.llama.gpu.GpuLlamaForward;
import io.minference.llama.gpu.GpuLlamaWeights;
import io.minference.llama.gpu.SyntheticGpuWeights;
import io.minference.llama.synthetic.SyntheticShape;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cuda.CudaBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Decode tokens/s of a synthetic model at a given context, with the decode step replayed from a CUDA graph and with
 * its launches queued one by one (eager), each after a prefill of {@code context} random tokens. Tokens are chosen
 * on the device (greedy), so each step moves only a token id back to the host.
 *
 * <p>Run: {@code java ... io.minference.bench.gpu.DecodeGraphBenchmark [shape [context [steps]]]}, defaults
 * llama3-8b, 32768, 128.
 */
public record DecodeGraphBenchmark(String shape, int context, int steps) implements GpuBenchmark {
    private static final int WARM_UP_STEPS = 8;

    public static void main(String[] args) {
        String shape = args.length > 0 ? args[0] : "llama3-8b";
        int context = args.length > 1 ? Integer.parseInt(args[1]) : 32768;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        int status = GpuBench.run(List.of(new DecodeGraphBenchmark(shape, context, steps)), System.out);
        if (status != 0) System.exit(status);
    }

    @Override
    public String name() {
        return "decode synthetic:" + shape + " at " + context;
    }

    @Override
    public List<Figure> run(CudaBackend backend) {
        List<Figure> figures = new ArrayList<>();
        try (GpuLlamaWeights weights = SyntheticGpuWeights.generate(backend, SyntheticShape.parse(shape))) {
            int[] prompt = new SplittableRandom(1).ints(context, 0, weights.config().vocabSize()).toArray();
            for (boolean graph : new boolean[] {false, true}) {
                try (GpuLlamaForward forward = new GpuLlamaForward(weights, backend,
                        context + WARM_UP_STEPS + steps, GpuLlamaForward.DEFAULT_CHUNK_SIZE, graph)) {
                    long start = System.nanoTime();
                    forward.prefill(prompt, ProgressListener.NONE);
                    int token = forward.argmaxOfLogits();
                    double prefillSeconds = (System.nanoTime() - start) / 1e9;
                    for (int i = 0; i < WARM_UP_STEPS; i++) token = forward.decodeArgmax(token);
                    start = System.nanoTime();
                    for (int i = 0; i < steps; i++) token = forward.decodeArgmax(token);
                    double seconds = (System.nanoTime() - start) / 1e9;
                    String mode = graph ? "CUDA graph" : "eager";
                    figures.add(new Figure(name() + ", prefill (" + mode + " run)", prefillSeconds, "s"));
                    figures.add(new Figure(name() + ", decode " + mode, steps / seconds, "tokens/s"));
                    figures.add(new Figure(name() + ", decode " + mode + " per step", seconds / steps * 1e3, "ms"));
                }
            }
        }
        return figures;
    }
}
