package io.minference.bench;

import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaModel;
import io.minference.llama.forward.LlamaForward;
import io.minference.llama.load.ModelLoader;
import io.minference.runtime.DType;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Where a CPU decode token's time goes: whole {@link LlamaForward#decode} steps, beside the same token's weight
 * products alone (each kind of matrix timed apart, on the same weights, with the same backend), so that the
 * difference is everything outside the products (attention, norms, RoPE, hand-offs, allocation). Rounds alternate
 * the two, and the load average is printed with every round.
 *
 * <pre>java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp 'app/target/lib/*' \
 *     io.minference.bench.CpuDecodeProfile MODEL.gguf [CONTEXT] [ROUNDS]</pre>
 *
 * CONTEXT (default 128) is the number of positions filled before the timed steps; each round decodes 8 tokens and
 * then runs the products of 8 tokens.
 */
public final class CpuDecodeProfile {
    private static final int STEPS = 8;

    private CpuDecodeProfile() {
    }

    public static void main(String[] args) {
        String model = args[0];
        int context = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 6;
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        try (LlamaModel m = ModelLoader.load(model, null, ProgressListener.NONE);
             CpuBackend backend = new CpuBackend();
             LlamaForward forward = new LlamaForward(m.config(), m.weights(), backend,
                     context + rounds * STEPS + STEPS + 1)) {
            SplittableRandom random = new SplittableRandom(7);
            int vocab = m.config().vocabSize();
            int[] prompt = new int[context];
            for (int i = 0; i < context; i++) prompt[i] = random.nextInt(vocab);
            for (int done = 0; done < context; done += forward.blockSize()) {
                forward.forwardBlock(prompt, done, Math.min(forward.blockSize(), context - done));
            }
            Map<String, List<Tensor[]>> products = products(m);
            Map<String, double[]> productMs = new LinkedHashMap<>();
            for (String kind : products.keySet()) productMs.put(kind, new double[rounds]);
            double[] tokenMs = new double[rounds];
            double[] tokenCpuMs = new double[rounds];
            System.out.printf(Locale.ROOT, "%s, %d threads, context %d, load average %s%n", model, backend.threads(),
                    context, QuantMatvecBenchmark.loadAverage());
            int token = random.nextInt(vocab);
            for (int r = -1; r < rounds; r++) {
                long c0 = cpu.getCurrentThreadCpuTime();
                long t0 = System.nanoTime();
                for (int s = 0; s < STEPS; s++) token = argmax(forward.decode(token));
                long t1 = System.nanoTime();
                long c1 = cpu.getCurrentThreadCpuTime();
                for (var e : products.entrySet()) {
                    long p0 = System.nanoTime();
                    for (int s = 0; s < STEPS; s++) {
                        for (Tensor[] p : e.getValue()) backend.matmul(p[0], p[1], p[2], 1);
                    }
                    if (r >= 0) productMs.get(e.getKey())[r] = (System.nanoTime() - p0) / 1e6 / STEPS;
                }
                if (r < 0) continue;
                tokenMs[r] = (t1 - t0) / 1e6 / STEPS;
                tokenCpuMs[r] = (c1 - c0) / 1e6 / STEPS;
                double sum = 0;
                StringBuilder line = new StringBuilder();
                for (var e : productMs.entrySet()) {
                    sum += e.getValue()[r];
                    line.append(String.format(Locale.ROOT, " %s %.1f", e.getKey(), e.getValue()[r]));
                }
                System.out.printf(Locale.ROOT, "round %d: token %.1f ms (%.2f tok/s; calling thread's CPU %.1f ms),"
                                + " products %.1f ms [%s ], outside %.1f ms, load average %s%n", r, tokenMs[r],
                        1000 / tokenMs[r], tokenCpuMs[r], sum, line.toString().trim(), tokenMs[r] - sum,
                        QuantMatvecBenchmark.loadAverage());
            }
            long bytes = 0;
            for (List<Tensor[]> list : products.values()) for (Tensor[] p : list) bytes += p[1].byteSize();
            double best = Double.MAX_VALUE;
            for (double t : tokenMs) best = Math.min(best, t);
            System.out.printf(Locale.ROOT, "weights per token %.3f GB; best token %.1f ms = %.1f GB/s%n", bytes / 1e9,
                    best, bytes / 1e6 / best);
        }
    }

    /** The token's products by kind, each [x, w, out], with x random and outputs of their own. */
    private static Map<String, List<Tensor[]>> products(LlamaModel m) {
        Map<String, List<Tensor[]>> products = new LinkedHashMap<>();
        SplittableRandom random = new SplittableRandom(3);
        for (LayerWeights w : m.weights().layers()) {
            add(products, "qkv", random, w.wq(), w.wk(), w.wv());
            add(products, "o", random, w.wo());
            add(products, "gate_up", random, w.wGate(), w.wUp());
            add(products, "down", random, w.wDown());
        }
        add(products, "logits", random, m.weights().classifier());
        return products;
    }

    private static void add(Map<String, List<Tensor[]>> products, String kind, SplittableRandom random,
                            Tensor... weights) {
        for (Tensor w : weights) {
            Tensor x = BenchWeights.random(random, 1, 1, w.dim(1));
            Tensor out = Tensor.allocate(DType.F32, w.dim(0));
            products.computeIfAbsent(kind, k -> new ArrayList<>()).add(new Tensor[] {x, w, out});
        }
    }

    private static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }
}
