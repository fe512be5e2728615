package io.minference.app;

import io.minference.config.AttentionMode;
import io.minference.config.ConfigOverrides;
import io.minference.config.MinferenceConfig;
import io.minference.llama.LlamaConfig;
import io.minference.llama.generate.SparsePrefill;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.LlamaSession;
import io.minference.llama.session.PrefillOptions;
import io.minference.llama.session.PrefillResult;
import io.minference.llama.session.Sequence;
import io.minference.llama.session.GenerationListener;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The main benchmark: prefill latency of prompts of given lengths, then a few decode steps, one row per length.
 * Prompts are seeded random token ids, so any model works and no text is needed. With --attention naming sparse
 * modes, the prefill of each mode is timed side by side instead, with the speedup over dense.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measures prefill seconds and tokens/s per prompt length, decode tokens/s after it, and peak"
                + " memory. Without --model it runs synthetic:tiny at 4k tokens. On a GPU, synthetic models make their"
                + " weights on the device.")
final class BenchCommand extends CliCommand {
    static final String DEFAULT_MODEL = "synthetic:tiny";
    static final List<Integer> DEFAULT_LENGTHS = List.of(4096);

    @Option(names = "--model", paramLabel = "PATH",
            description = "A .gguf file, a llama2.c checkpoint or synthetic:NAME (default: " + DEFAULT_MODEL + ").")
    String model;

    @Option(names = "--tokenizer", paramLabel = "PATH", description = "A tokenizer file overriding the model's own.")
    java.nio.file.Path tokenizer;

    @Option(names = "--lengths", paramLabel = "N[,N...]", converter = TokenLengths.class,
            description = "Prompt lengths in tokens, k = 1024 (default: 4k).")
    List<Integer> lengths;

    @Option(names = "--decode-tokens", paramLabel = "N", defaultValue = "16",
            description = "Decode steps timed after each prefill (default: ${DEFAULT-VALUE}; 0 skips decode).")
    int decodeTokens;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of the random prompts.")
    long seed;

    @Option(names = "--device", paramLabel = "D", description = "auto (default), cpu, cuda or cuda:N.")
    String device;

    @Option(names = "--attention", paramLabel = "MODE[,MODE...]", converter = AttentionFlags.ModeList.class,
            description = "Attention modes to time side by side, e.g. dense,minference (modes: dense, minference,"
                    + " a-shape, vertical-slash, block-sparse). With a sparse mode only prefill is timed.")
    List<AttentionMode> attentionModes;

    @Mixin
    AttentionFlags sparse;

    @Override
    int run() throws IOException {
        if (decodeTokens < 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "Invalid value for option '--decode-tokens': must be 0 or more, got " + decodeTokens);
        }
        sparse.check(this);
        var settings = settings(new ConfigOverrides(model, tokenizer, device, null, null, null, null, null, null)
                .withAttention(attentionModes == null ? null : sparse.checkedMode(attentionModes), sparse.patterns,
                        sparse.sparseThreshold, sparse.massBudget()));
        String modelName = settings.model() != null ? settings.model() : DEFAULT_MODEL;
        Inputs.requireModel(modelName);
        Inputs.requirePatterns(settings.attention());
        List<Integer> promptLengths = lengths != null ? lengths : DEFAULT_LENGTHS;
        List<AttentionMode> modes = attentionModes != null ? attentionModes : List.of(settings.attention().mode());
        boolean compare = !modes.equals(List.of(AttentionMode.DENSE));
        if (compare) refuseIgnored("--decode-tokens", "with sparse modes bench times the prefill only");
        int longest = Collections.max(promptLengths);
        long loadStart = System.nanoTime();
        try (ProgressBar progress = new ProgressBar(err(), stderrIsTerminal());
             LlamaSession session = LlamaSession.load(modelName, settings.tokenizer(), settings.device(),
                     config -> AttentionPlan.dense(), settings.prefill().blockSize(), progress)) {
            double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
            if (compare) {
                compare(session, modelName, settings, promptLengths, modes, progress);
            } else {
                requireFits(promptLengths, session.config().contextLength());
                // The sequence of the longest prompt is checked against free device memory before anything runs.
                session.newSequence(longest + decodeTokens).close();
                timeDense(session, modelName, loadSeconds, promptLengths, progress);
            }
        }
        return 0;
    }

    /** Prefill, then greedy decode steps, per length, after one short untimed run (JIT, kernel loading). */
    private void timeDense(LlamaSession session, String modelName, double loadSeconds, List<Integer> promptLengths,
                           ProgressBar progress) {
        PrintWriter out = out();
        LlamaConfig c = session.config();
        out.printf(Locale.ROOT, "model %s on %s, loaded in %.2f s%n", modelName, session.device(), loadSeconds);
        // On a GPU: the device memory a sequence adds to the weights (the prefill's buffers and KV cache).
        printHeader(out, session.onGpu() ? "sequence memory" : "peak RSS");
        long before = session.deviceBytesInUse();
        timePrefillAndDecode(session, randomPrompt(Math.min(64, c.contextLength() - 1), bos(session), c.vocabSize()),
                Math.min(1, decodeTokens), GenerationListener.NONE);
        for (int length : promptLengths) {
            long[] nanos = timePrefillAndDecode(session, randomPrompt(length, bos(session), c.vocabSize()),
                    decodeTokens, progress);
            String memory = session.onGpu() ? gib(nanos[2] - before)
                    : PeakMemory.residentBytes().stream().mapToObj(BenchCommand::gib).findFirst().orElse("n/a");
            printRow(out, length, nanos[0], length * 1e9 / nanos[0], decodeTokens * 1e9 / Math.max(1, nanos[1]),
                    memory);
        }
    }

    /** Prefill seconds, decode seconds and device bytes in use after the prefill (-1 on the CPU). */
    private static long[] timePrefillAndDecode(LlamaSession session, int[] prompt, int steps,
                                               GenerationListener progress) {
        try (Sequence sequence = session.newSequence(prompt.length + steps)) {
            PrefillResult prefill = sequence.prefill(prompt, PrefillOptions.lastLogits(1).withProgress(progress));
            long used = session.deviceBytesInUse();
            float[] logits = prefill.lastLogits();
            long start = System.nanoTime();
            // Stop tokens are ignored: every length decodes the same number of steps.
            for (int i = 0; i < steps; i++) logits = sequence.decode(argmax(logits));
            return new long[] {prefill.nanos(), System.nanoTime() - start, used};
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private static int bos(LlamaSession session) {
        return session.tokenizer() == null ? 0 : session.tokenizer().bos();
    }

    /**
     * Prefill of every mode per length, side by side, with each sparse mode's density beside its speedup. Every
     * mode is warmed up first, and the order of the modes alternates from one length to the next, so that neither
     * side profits from running second. The plans are checked against the model before any run.
     */
    private void compare(LlamaSession session, String modelName, MinferenceConfig settings,
                         List<Integer> promptLengths, List<AttentionMode> modes, ProgressBar progress) {
        PrintWriter out = out();
        LlamaConfig c = session.config();
        for (int length : promptLengths) {
            if (length > c.contextLength()) {
                throw new IllegalArgumentException("length " + length + " does not fit the model's context of "
                        + c.contextLength() + " tokens");
            }
        }
        List<AttentionPlan> plans = new ArrayList<>();
        for (AttentionMode mode : modes) {
            plans.add(AttentionPlan.of(AttentionFlags.forMode(settings.attention(), mode, null), c,
                    SparsePrefill.registeredPatterns()));
        }
        out.printf(Locale.ROOT, "model %s on %s, sparse threshold %d%n", modelName, session.device(),
                settings.attention().sparseThreshold());
        // One short untimed prefill per mode first, so that JIT compilation stays out of the figures.
        int[] warmUp = randomPrompt(Math.min(64, c.contextLength()), bos(session), c.vocabSize());
        for (AttentionPlan plan : plans) {
            boolean used = promptLengths.stream().anyMatch(plan::sparseFor);
            prefill(session, warmUp, used ? plan.alwaysSparse() : AttentionPlan.dense(), GenerationListener.NONE);
        }
        AttentionTable table = new AttentionTable(out, modes, settings.attention().sparseThreshold());
        table.header();
        for (int n = 0; n < promptLengths.size(); n++) {
            int length = promptLengths.get(n);
            int[] prompt = randomPrompt(length, bos(session), c.vocabSize());
            long[] nanos = new long[modes.size()];
            double[] density = new double[modes.size()];
            boolean[] ranSparse = new boolean[modes.size()];
            for (int k = 0; k < modes.size(); k++) {
                int i = n % 2 == 0 ? k : modes.size() - 1 - k;
                AttentionPlan plan = plans.get(i);
                ranSparse[i] = plan.sparseFor(length);
                PrefillResult r = prefill(session, prompt, ranSparse[i] ? plan.alwaysSparse() : AttentionPlan.dense(),
                        progress);
                nanos[i] = r.nanos();
                density[i] = r.density();
            }
            table.row(length, nanos, ranSparse, density);
        }
        table.footer();
    }

    private static PrefillResult prefill(LlamaSession session, int[] prompt, AttentionPlan plan,
                                         GenerationListener progress) {
        return session.prefill(prompt, PrefillOptions.lastLogits(1).withAttention(plan).withProgress(progress));
    }

    private void requireFits(List<Integer> promptLengths, int context) {
        for (int length : promptLengths) {
            if (length + decodeTokens > context) {
                throw new IllegalArgumentException("length " + length + " plus " + decodeTokens
                        + " decode tokens does not fit the model's context of " + context + " tokens");
            }
        }
    }

    private static void printHeader(PrintWriter out, String memory) {
        out.printf(Locale.ROOT, "%10s %12s %14s %14s %14s%n", "tokens", "prefill s", "prefill tok/s",
                "decode tok/s", memory);
        out.flush();
    }

    private void printRow(PrintWriter out, int length, long prefillNanos, double prefillRate, double decodeRate,
                          String memory) {
        out.printf(Locale.ROOT, "%10d %12.3f %14.1f %14s %14s%n", length, prefillNanos / 1e9, prefillRate,
                decodeTokens == 0 ? "-" : String.format(Locale.ROOT, "%.1f", decodeRate), memory);
        out.flush();
    }

    private int[] randomPrompt(int length, int bos, int vocab) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] ids = new int[length];
        ids[0] = bos;
        for (int i = 1; i < length; i++) ids[i] = random.nextInt(vocab);
        return ids;
    }

    private static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }
}
