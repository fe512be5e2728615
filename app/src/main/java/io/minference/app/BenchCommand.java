package io.minference.app;

import io.minference.config.AttentionMode;
import io.minference.config.ConfigOverrides;
import io.minference.config.KvCacheType;
import io.minference.config.KvOffload;
import io.minference.config.MinferenceConfig;
import io.minference.llama.LlamaConfig;
import io.minference.llama.generate.SparsePrefill;
import io.minference.llama.gpu.DecodeBreakdown;
import io.minference.llama.gpu.DecodeKind;
import io.minference.llama.gpu.GpuMemoryPlan;
import io.minference.llama.gpu.LinearKernel;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.GenerationListener;
import io.minference.llama.session.LlamaSession;
import io.minference.llama.session.PrefillOptions;
import io.minference.llama.session.PrefillProfile;
import io.minference.llama.session.PrefillResult;
import io.minference.llama.session.Sequence;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
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
 *
 * <p>On a GPU every timed prefill is profiled through the session ({@link PrefillOptions#profiling()}), and a line
 * under its row gives the device time of its phases (linear layers beside their floor, attention kernels, estimation
 * and index, KV store, other), the peak device memory, decode tokens/s after the prefill beside decode's floor, and
 * NVML's joules of the prefill and per generated token (where NVML is absent, one line says so before the table); a
 * second line gives the device time of each kernel outside attention (each GEMM, the norms, RoPE with the KV write,
 * SwiGLU, the embedding and the LM head) beside its floor ({@link LinearKernel#breakdown}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measures prefill seconds and tokens/s per prompt length, decode tokens/s after it, and peak"
                + " memory. Without --model it runs synthetic:tiny at 4k tokens. On a GPU, synthetic models make their"
                + " weights on the device, and each prefill also gets its breakdown by phase and, outside attention,"
                + " by kernel beside each kernel's floor, peak device memory and energy.")
final class BenchCommand extends CliCommand {
    static final String DEFAULT_MODEL = "synthetic:tiny";
    static final List<Integer> DEFAULT_LENGTHS = List.of(4096);
    /** cuBLASLt's bf16 GEMM rate on an H200 (BENCHMARKS.md), for the linear layers' floor. */
    static final double GEMM_FLOPS = LinearKernel.H200_GEMM_FLOPS;
    /** An H200's HBM3e bandwidth, for decode's floor. */
    static final double MEMORY_BYTES_PER_SECOND = LinearKernel.H200_BYTES_PER_SECOND;
    /** PCIe 5.0 x16, one direction, theoretical: what an offloaded KV cache crosses every decode step. */
    static final double HOST_LINK_BYTES_PER_SECOND = 64e9;

    @Option(names = "--model", paramLabel = "PATH",
            description = "A .gguf file, a llama2.c checkpoint or synthetic:NAME (default: " + DEFAULT_MODEL + ").")
    String model;

    @Option(names = "--tokenizer", paramLabel = "PATH", description = "A tokenizer file overriding the model's own.")
    Path tokenizer;

    @Option(names = "--lengths", paramLabel = "N[,N...]", converter = TokenLengths.class,
            description = "Prompt lengths in tokens, k = 1024 (default: 4k).")
    List<Integer> lengths;

    @Option(names = "--decode-tokens", paramLabel = "N", defaultValue = "16",
            description = "Decode steps timed after each prefill (default: ${DEFAULT-VALUE}; 0 skips decode). With"
                    + " sparse modes only a GPU decodes after the prefill.")
    int decodeTokens;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of the random prompts.")
    long seed;

    @Option(names = "--device", paramLabel = "D", description = "auto (default), cpu, cuda or cuda:N.")
    String device;

    @Option(names = "--attention", paramLabel = "MODE[,MODE...]", converter = AttentionFlags.ModeList.class,
            description = "Attention modes to time side by side, e.g. dense,minference (modes: dense, minference,"
                    + " a-shape, vertical-slash, block-sparse). With a sparse mode the CPU times prefill only.")
    List<AttentionMode> attentionModes;

    @Mixin
    AttentionFlags sparse;

    @Option(names = "--kv-cache", paramLabel = "TYPE", converter = KvCacheFlag.class,
            description = "KV cache kept for decode: " + KvCacheFlag.CHOICES + ". With int8 or fp8 GPU prompts run"
                    + " layer-major.")
    KvCacheType kvCache;

    @Option(names = "--kv-offload", paramLabel = "WHERE", converter = KvOffloadFlag.class,
            description = "GPU only: none (default) or host, every layer's KV cache in pinned host memory, two"
                    + " layers at a time on the device (copied in during decode, overlapping the layer before).")
    KvOffload kvOffload;

    @Override
    int run() throws IOException {
        if (decodeTokens < 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "Invalid value for option '--decode-tokens': must be 0 or more, got " + decodeTokens);
        }
        sparse.check(this);
        var settings = settings(ConfigOverrides.NONE.withModel(model, tokenizer).withDevice(device)
                .withAttention(attentionModes == null ? null : sparse.checkedMode(attentionModes), sparse.patterns,
                        sparse.sparseThreshold, sparse.massBudget()).withKvCache(kvCache).withKvOffload(kvOffload));
        KvCacheType cacheType = settings.kvCache();
        KvOffload offload = settings.kvOffload();
        String modelName = settings.model() != null ? settings.model() : DEFAULT_MODEL;
        Inputs.requireModel(modelName);
        Inputs.requirePatterns(settings.attention());
        List<Integer> promptLengths = lengths != null ? lengths : DEFAULT_LENGTHS;
        List<AttentionMode> modes = attentionModes != null ? attentionModes : List.of(settings.attention().mode());
        boolean compare = !modes.equals(List.of(AttentionMode.DENSE));
        int longest = Collections.max(promptLengths);
        long loadStart = System.nanoTime();
        try (ProgressBar progress = new ProgressBar(err(), stderrIsTerminal());
             LlamaSession session = LlamaSession.load(modelName, settings.tokenizer(), settings.device(),
                     config -> AttentionPlan.dense().withKvCache(cacheType).withKvOffload(offload),
                     settings.prefill().blockSize(),
                     progress)) {
            double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
            if (compare) {
                if (!session.onGpu()) {
                    refuseIgnored("--decode-tokens", "with sparse modes bench times the prefill only on the CPU");
                }
                compare(session, modelName, settings, promptLengths, modes, progress);
            } else {
                requireFits(promptLengths, session.config().contextLength());
                // The sequence of the longest prompt is checked against free device memory before anything runs.
                printDevicePlan(session, longest, session.attention(), "");
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
        out.printf(Locale.ROOT, "model %s on %s, loaded in %.2f s%s%n", modelName, session.device(), loadSeconds,
                kvCacheNote(session.attention()));
        printEnergyPreamble(session, out);
        // On a GPU: the device memory a sequence adds to the weights (the prefill's buffers and KV cache).
        printHeader(out, session.onGpu() ? "sequence memory" : "peak RSS");
        long before = session.deviceBytesInUse();
        timePrefillAndDecode(session, randomPrompt(Math.min(64, c.contextLength() - 1), bos(session), c.vocabSize()),
                session.attention(), Math.min(1, decodeTokens), GenerationListener.NONE);
        for (int length : promptLengths) {
            Timed timed = timePrefillAndDecode(session, randomPrompt(length, bos(session), c.vocabSize()),
                    session.attention(), decodeTokens, progress);
            String memory = session.onGpu() ? gib(timed.usedAfterPrefill() - before)
                    : PeakMemory.residentBytes().stream().mapToObj(BenchCommand::gib).findFirst().orElse("n/a");
            long prefillNanos = timed.prefill().nanos();
            printRow(out, length, prefillNanos, length * 1e9 / prefillNanos, timed.decode().tokensPerSecond(), memory);
            printDetails(out, "", timed);
        }
    }

    /**
     * One prefill following {@code plan}, then {@code steps} greedy decode steps (stop tokens ignored: every length
     * decodes as many), in a sequence of its own. On a GPU the prefill is profiled.
     */
    private Timed timePrefillAndDecode(LlamaSession session, int[] prompt, AttentionPlan plan, int steps,
                                       GenerationListener progress) {
        // the density is counted on the device in a wait the prefill makes anyway: every row reports what it kept
        PrefillOptions options = PrefillOptions.lastLogits(1).withAttention(plan).withProgress(progress)
                .measuringDensity();
        // On a GPU one more position, for the profiled decode step after the timed ones.
        int profiledSteps = session.onGpu() && steps >= 2
                && prompt.length + steps < session.config().contextLength() ? 1 : 0;
        try (Sequence sequence = session.newSequence(prompt.length + steps + profiledSteps, plan)) {
            PrefillResult prefill = sequence.prefill(prompt, session.onGpu() ? options.profiling() : options);
            long used = session.deviceBytesInUse();
            Decode decode = decode(session, sequence, argmax(prefill.lastLogits()), steps);
            String details = prefill.profile() == null ? ""
                    : details(session, plan, prefill, decode, steps);
            String kernels = prefill.profile() == null ? ""
                    : LinearKernel.breakdown(session.config(), prompt.length, 1, prefill.profile().kernels());
            String decodeDetails = profiledSteps == 0 ? ""
                    : sequence.profileDecodeGreedy(decode.next()).map(b -> decodeDetails(b, decode)).orElse("");
            return new Timed(prefill, decode, used, details, kernels, decodeDetails);
        }
    }

    /**
     * A timed prefill, the decode steps after it, the device memory in use after it, its details line, its
     * per-kernel line and the decode breakdown's line.
     */
    private record Timed(PrefillResult prefill, Decode decode, long usedAfterPrefill, String details,
                         String kernels, String decodeDetails) {
    }

    /**
     * Decode steps timed, their nanoseconds, the GPU's joules over them (NaN where not measured, or too short for
     * NVML's counter to resolve, and then {@code unmeasured} says which) and the token the last one chose.
     */
    record Decode(int steps, long nanos, double joules, String unmeasured, int next) {
        double tokensPerSecond() {
            return steps == 0 ? 0 : steps * 1e9 / Math.max(1, nanos);
        }
    }

    /**
     * {@code steps} greedy decode steps from {@code token}. On a GPU, with two steps or more, the first one (which
     * captures the sequence's CUDA graph) is left out of the time.
     */
    private static Decode decode(LlamaSession session, Sequence sequence, int token, int steps) {
        int untimed = session.onGpu() && steps >= 2 ? 1 : 0;
        for (int i = 0; i < untimed; i++) token = sequence.decodeGreedy(token);
        var meter = session.energyMeter();
        var before = meter.read();
        long start = System.nanoTime();
        for (int i = untimed; i < steps; i++) token = sequence.decodeGreedy(token);
        long nanos = System.nanoTime() - start;
        var energy = meter.since(before);
        boolean measured = energy.resolvable();
        return new Decode(steps - untimed, nanos, measured ? energy.joules() : Double.NaN,
                measured ? "" : energy.describe(), token);
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
     * side profits from running second. The plans are checked against the model before any run. On a GPU each
     * timed prefill is followed by the decode steps asked for, and its details line comes under the row.
     */
    private void compare(LlamaSession session, String modelName, MinferenceConfig settings,
                         List<Integer> promptLengths, List<AttentionMode> modes, ProgressBar progress) {
        PrintWriter out = out();
        LlamaConfig c = session.config();
        int steps = session.onGpu() ? decodeTokens : 0;
        for (int length : promptLengths) {
            if (length + steps > c.contextLength()) {
                throw new IllegalArgumentException("length " + length + (steps == 0 ? "" : " plus " + steps
                        + " decode tokens") + " does not fit the model's context of " + c.contextLength() + " tokens");
            }
        }
        List<AttentionPlan> plans = new ArrayList<>();
        for (AttentionMode mode : modes) {
            plans.add(AttentionPlan.of(AttentionFlags.forMode(settings.attention(), mode, null), c,
                    SparsePrefill.registeredPatterns()).withKvCache(session.attention().kvCache())
                    .withKvOffload(session.attention().kvOffload()));
        }
        int longest = Collections.max(promptLengths);
        for (int i = 0; i < modes.size(); i++) {
            printDevicePlan(session, longest, timedPlan(plans.get(i), longest), " (" + modes.get(i).label() + ")");
        }
        out.printf(Locale.ROOT, "model %s on %s, sparse threshold %d%s%n", modelName, session.device(),
                settings.attention().sparseThreshold(), kvCacheNote(session.attention()));
        printEnergyPreamble(session, out);
        // One short untimed prefill per mode first, so that JIT compilation stays out of the figures.
        int[] warmUp = randomPrompt(Math.min(64, c.contextLength() - steps), bos(session), c.vocabSize());
        for (AttentionPlan plan : plans) {
            boolean used = promptLengths.stream().anyMatch(plan::sparseFor);
            timePrefillAndDecode(session, warmUp, used ? plan.alwaysSparse() : densePlan(plan), Math.min(1, steps),
                    GenerationListener.NONE);
        }
        AttentionTable table = new AttentionTable(out, modes, settings.attention().sparseThreshold());
        table.header();
        for (int n = 0; n < promptLengths.size(); n++) {
            int length = promptLengths.get(n);
            int[] prompt = randomPrompt(length, bos(session), c.vocabSize());
            long[] nanos = new long[modes.size()];
            double[] density = new double[modes.size()];
            boolean[] ranSparse = new boolean[modes.size()];
            Timed[] timed = new Timed[modes.size()];
            for (int k = 0; k < modes.size(); k++) {
                int i = n % 2 == 0 ? k : modes.size() - 1 - k;
                AttentionPlan plan = plans.get(i);
                ranSparse[i] = plan.sparseFor(length);
                timed[i] = timePrefillAndDecode(session, prompt, timedPlan(plan, length), steps, progress);
                nanos[i] = timed[i].prefill().nanos();
                density[i] = timed[i].prefill().density();
            }
            table.row(length, nanos, ranSparse, density);
            for (int i = 0; i < modes.size(); i++) printDetails(out, modes.get(i).label(), timed[i]);
        }
        table.footer();
    }

    /** The plan a timed prefill of {@code length} tokens runs: sparse at threshold 0 where the mode applies. */
    private static AttentionPlan timedPlan(AttentionPlan plan, int length) {
        return plan.sparseFor(length) ? plan.alwaysSparse() : densePlan(plan);
    }

    /** Dense attention with {@code plan}'s KV cache. */
    private static AttentionPlan densePlan(AttentionPlan plan) {
        return AttentionPlan.dense().withKvCache(plan.kvCache()).withKvOffload(plan.kvOffload());
    }

    /**
     * The details line of a profiled prefill: its phases' device time (linear layers beside their floor, FLOPs at
     * {@link #GEMM_FLOPS}; "other" is the wall time none of them took), the peak device memory, decode tokens/s
     * beside its floor (weights plus the cache read once per step at {@link #MEMORY_BYTES_PER_SECOND}), and energy.
     */
    private static String details(LlamaSession session, AttentionPlan plan, PrefillResult prefill, Decode decode,
                                  int steps) {
        PrefillProfile profile = prefill.profile();
        int length = prefill.promptTokens();
        LlamaConfig c = session.config();
        PrefillProfile.PhaseSeconds phases = profile.phases();
        double floor = 2.0 * length * nonEmbeddingParameters(c) / GEMM_FLOPS;
        String breakdown = !phases.marked()
                ? String.format(Locale.ROOT, "no breakdown (no phases were marked; linear floor"
                        + " %.3f s at %.0f TFLOP/s)", floor, GEMM_FLOPS / 1e12)
                : String.format(Locale.ROOT, "linear layers %.3f s (floor %.3f s at %.0f TFLOP/s), attention kernels"
                        + " %.3f s, estimation and index %.3f s, KV store %.3f s, other %.3f s", phases.linear(),
                        floor, GEMM_FLOPS / 1e12, phases.attention(), phases.index(), phases.kvStore(),
                        prefill.nanos() / 1e9 - phases.total());
        String decoded;
        if (decode.steps() == 0 || steps < 2) {
            decoded = "decode not timed (--decode-tokens below 2)";
        } else {
            GpuMemoryPlan memory = session.devicePlan(length + steps, plan).orElseThrow();
            double kvBytes = GpuMemoryPlan.kvCacheBytes(c, length, plan.kvCache());
            double decodeFloor = (memory.weightBytes() + kvBytes) / MEMORY_BYTES_PER_SECOND;
            // Offloaded, every layer's cache crosses the host link once per step, overlapping the device's reads.
            String link = "";
            if (memory.offloaded()) {
                decodeFloor = Math.max(decodeFloor, kvBytes / HOST_LINK_BYTES_PER_SECOND);
                link = String.format(Locale.ROOT, " and %.0f GB/s host to device", HOST_LINK_BYTES_PER_SECOND / 1e9);
            }
            String perToken = Double.isNaN(decode.joules()) ? "energy " + decode.unmeasured()
                    : String.format(Locale.ROOT, "%.2f J per token", decode.joules() / decode.steps());
            decoded = String.format(Locale.ROOT, "decode %.1f tok/s (floor %.1f tok/s at %.1f TB/s%s), %s",
                    decode.tokensPerSecond(), 1 / decodeFloor, MEMORY_BYTES_PER_SECOND / 1e12, link, perToken);
        }
        return String.format(Locale.ROOT, "%s; peak device memory %s; %s; prefill energy %s", breakdown,
                gib(profile.peakDeviceBytes()), decoded, profile.energy().describe());
    }

    /**
     * The decode breakdown's line: one step queued eagerly between CUDA events, its device milliseconds per kind of
     * work beside that kind's floor (the bytes it must read at {@link #MEMORY_BYTES_PER_SECOND}), largest first,
     * after the timed steps' time per token for comparison (replayed from a CUDA graph, or eager where the KV cache
     * is offloaded, which the header line says).
     */
    static String decodeDetails(DecodeBreakdown breakdown, Decode timed) {
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "decode step by kind (one eager step"
                + " between events, %.2f ms of device time; the timed steps took %.2f ms/token):",
                breakdown.totalMillis(), timed.nanos() / 1e6 / Math.max(1, timed.steps())));
        long floorBytes = 0;
        List<DecodeKind> kinds = new ArrayList<>(List.of(DecodeKind.values()));
        kinds.sort((a, b) -> Double.compare(breakdown.millis().get(b), breakdown.millis().get(a)));
        String separator = " ";
        for (DecodeKind kind : kinds) {
            double millis = breakdown.millis().get(kind);
            long bytes = breakdown.readBytes().get(kind);
            floorBytes += bytes;
            line.append(separator).append(String.format(Locale.ROOT, "%s %.3f ms", kind.label(), millis));
            if (bytes > 0) {
                line.append(String.format(Locale.ROOT, " (floor %.3f ms, %.2f GB)",
                        bytes / MEMORY_BYTES_PER_SECOND * 1e3, bytes / 1e9));
            }
            separator = ", ";
        }
        line.append(String.format(Locale.ROOT, "; floor of the step %.2f ms at %.1f TB/s",
                floorBytes / MEMORY_BYTES_PER_SECOND * 1e3, MEMORY_BYTES_PER_SECOND / 1e12));
        return line.toString();
    }

    /** Parameters outside the embedding and classifier: what the linear layers multiply per token. */
    static long nonEmbeddingParameters(LlamaConfig c) {
        long qDim = (long) c.numHeads() * c.headDim();
        return (long) c.numLayers()
                * ((qDim + 2L * c.kvDim()) * c.dim() + qDim * c.dim() + 3L * c.hiddenDim() * c.dim());
    }

    /** The details line and the per-kernel line of a timed prefill, labelled with {@code mode} where not empty. */
    private static void printDetails(PrintWriter out, String mode, Timed timed) {
        if (timed.details().isEmpty()) return;
        String label = mode.isEmpty() ? "" : mode + ": ";
        out.printf(Locale.ROOT, "    %s%s%n", label, timed.details());
        if (!timed.kernels().isEmpty()) {
            out.printf(Locale.ROOT, "    %s%s%n", mode.isEmpty() ? "" : mode + " kernels: ", timed.kernels());
        }
        if (!timed.decodeDetails().isEmpty()) out.printf(Locale.ROOT, "    %s%s%n", label, timed.decodeDetails());
        out.flush();
    }

    /** On a GPU, the device memory plan of the longest prompt, part by part, on stderr. */
    private void printDevicePlan(LlamaSession session, int length, AttentionPlan plan, String what) {
        session.devicePlan(length + decodeTokens, plan).ifPresent(p ->
                err().println("device memory plan for " + length + " tokens" + what + ": " + p.describe()));
    }

    /** On a GPU without NVML, the one line saying why energy is not measured. */
    private static void printEnergyPreamble(LlamaSession session, PrintWriter out) {
        if (session.onGpu() && !session.energyMeter().available()) out.println(session.energyMeter().unavailableLine());
    }

    /**
     * The header's note of the KV cache: named only when it is 8-bit (fp8 or int8) or offloaded, so that the default
     * output stays as it was.
     */
    private static String kvCacheNote(AttentionPlan plan) {
        return (plan.kvCache().coded() ? ", KV cache " + plan.kvCache().label() : "")
                + (plan.kvOffload() == KvOffload.HOST ? ", KV cache offloaded to pinned host memory (decode eager,"
                + " no graph)" : "");
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
