package io.minference.app;

import io.minference.config.AttentionMode;
import io.minference.config.KvCacheType;
import io.minference.kernels.flash.PhaseMarks;
import io.minference.llama.gpu.GpuPhaseProfile;
import io.minference.runtime.cuda.EnergyMeter;
import io.minference.config.MinferenceConfig;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.DevicePromptAttention;
import io.minference.llama.LlamaModel;
import io.minference.llama.generate.GenerationResult;
import io.minference.llama.generate.Generator;
import io.minference.llama.generate.SamplingOptions;
import io.minference.llama.generate.SparsePrefill;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.sampling.GreedySampler;
import io.minference.runtime.Backends;
import io.minference.llama.LlamaConfig;
import io.minference.llama.gpu.GpuLlamaForward;
import io.minference.llama.gpu.GpuLlamaWeights;
import io.minference.llama.gpu.GpuMemoryPlan;
import io.minference.llama.gpu.SyntheticGpuWeights;
import io.minference.llama.synthetic.SyntheticShape;
import io.minference.runtime.Backend;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.sparse.SparsePrefills;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
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

    @Option(names = "--kv-cache", paramLabel = "TYPE", converter = KvCacheFlag.class,
            description = "KV cache kept for decode: bf16 (default) or fp8 (e4m3, a scale per KV head and 64-position"
                    + " block; GPU prompts then run layer-major).")
    KvCacheType kvCache;

    @Override
    int run() throws IOException {
        if (decodeTokens < 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "Invalid value for option '--decode-tokens': must be 0 or more, got " + decodeTokens);
        }
        sparse.check(this);
        var settings = settings(new io.minference.config.ConfigOverrides(model, tokenizer, device, null, null, null,
                null, null, null).withAttention(attentionModes == null ? null : sparse.checkedMode(attentionModes),
                sparse.patterns, sparse.sparseThreshold, sparse.massBudget()).withKvCache(kvCache));
        kvCache = settings.kvCache();
        String modelName = settings.model() != null ? settings.model() : DEFAULT_MODEL;
        Inputs.requireModel(modelName);
        Inputs.requirePatterns(settings.attention());
        List<Integer> promptLengths = lengths != null ? lengths : DEFAULT_LENGTHS;
        List<AttentionMode> modes = attentionModes != null ? attentionModes : List.of(settings.attention().mode());
        if (!modes.equals(List.of(AttentionMode.DENSE))) {
            try (ProgressBar progress = new ProgressBar(err(), stderrIsTerminal());
                 Backend backend = Backends.select(settings.device())) {
                compare(backend, modelName, settings, promptLengths, modes, progress);
            }
            return 0;
        }

        PrintWriter out = out();
        try (ProgressBar progress = new ProgressBar(err(), stderrIsTerminal());
             Backend backend = Backends.select(settings.device())) {
            if (backend instanceof CudaBackend cuda) {
                new GpuBench(cuda, out, progress).run(modelName, settings.tokenizer(), promptLengths);
                return 0;
            }
            runOnCpu((CpuBackend) backend, modelName, settings, promptLengths, out, progress);
        }
        return 0;
    }

    private void runOnCpu(CpuBackend backend, String modelName, io.minference.config.MinferenceConfig settings,
                          List<Integer> promptLengths, PrintWriter out, ProgressBar progress) {
        try (LlamaModel loaded = ModelLoader.load(modelName, settings.tokenizer(), progress)) {
            requireFits(promptLengths, loaded.config().contextLength());
            LlamaModel benchModel = new LlamaModel(loaded.source(), loaded.config(), loaded.weights(),
                    new NoStopTokenizer(loaded.tokenizer()));
            out.printf(Locale.ROOT, "model %s on %s (%d threads)%n", modelName, backend.name(), backend.threads());
            printHeader(out, "peak RSS");
            for (int length : promptLengths) {
                GenerationResult r;
                try (Generator generator = new Generator(benchModel, backend, null,
                        settings.prefill().blockSize()).kvCache(kvCache())) {
                    r = generator.generate(randomPrompt(length, loaded.tokenizer().bos(), loaded.config().vocabSize()),
                            decodeTokens, SamplingOptions.GREEDY, id -> { }, progress);
                }
                printRow(out, length, r.prefillNanos(), r.prefillTokensPerSecond(), r.decodeTokensPerSecond(),
                        PeakMemory.residentBytes().stream().mapToObj(BenchCommand::gib).findFirst().orElse("n/a"));
            }
        }
    }

    /** Prefill of every mode per length, side by side; the plans are checked against the model before any run. */
    private void compare(Backend backend, String modelName, MinferenceConfig settings, List<Integer> promptLengths,
                         List<AttentionMode> modes, ProgressBar progress) {
        PrintWriter out = out();
        PrefillTimer opened = backend instanceof CudaBackend cuda
                ? new GpuPrefillTimer(cuda, new GpuBench(cuda, out, progress).weights(modelName, settings.tokenizer(),
                        java.util.Collections.max(promptLengths), true),
                progress, kvCache(), decodeTokens)
                : new CpuPrefillTimer((CpuBackend) backend, ModelLoader.load(modelName, settings.tokenizer(), progress),
                settings.prefill().blockSize(), progress);
        try (PrefillTimer timer = opened) {
            LlamaConfig c = timer.config();
            for (int length : promptLengths) {
                if (length > c.contextLength()) {
                    throw new IllegalArgumentException("length " + length + " does not fit the model's context of "
                            + c.contextLength() + " tokens");
                }
            }
            List<SparsePrefill> prefills = new ArrayList<>();
            for (AttentionMode mode : modes) {
                prefills.add(SparsePrefill.of(AttentionFlags.forMode(settings.attention(), mode, null), c,
                        SparsePrefill.registeredPatterns()));
            }
            for (SparsePrefill p : prefills) {
                if (p != null) p.plan().requireShape(c.numLayers(), c.numHeads(), p.source());
            }
            out.printf(Locale.ROOT, "model %s on %s, sparse threshold %d%s%n", modelName, timer.device(),
                    settings.attention().sparseThreshold(),
                    kvCache() == KvCacheType.FP8 ? ", KV cache fp8" : "");
            timer.preamble().ifPresent(out::println);
            // One short untimed prefill per mode first, so that JIT compilation stays out of the figures.
            int[] warmUp = randomPrompt(Math.min(64, c.contextLength()), timer.bos(), c.vocabSize());
            for (SparsePrefill p : prefills) {
                boolean used = p != null && promptLengths.stream().anyMatch(p::appliesTo);
                timer.prefillNanos(warmUp, used ? p : null);
            }
            AttentionTable table = new AttentionTable(out, modes, settings.attention().sparseThreshold());
            table.header();
            for (int length : promptLengths) {
                int[] prompt = randomPrompt(length, timer.bos(), c.vocabSize());
                long[] nanos = new long[modes.size()];
                String[] details = new String[modes.size()];
                boolean[] ranSparse = new boolean[modes.size()];
                for (int i = 0; i < modes.size(); i++) {
                    SparsePrefill p = prefills.get(i);
                    ranSparse[i] = p != null && p.appliesTo(length);
                    nanos[i] = timer.prefillNanos(prompt, ranSparse[i] ? p : null);
                    details[i] = timer.lastDetails();
                }
                table.row(length, nanos, ranSparse);
                for (int i = 0; i < modes.size(); i++) {
                    if (!details[i].isEmpty()) out.printf(Locale.ROOT, "    %s: %s%n", modes.get(i).label(), details[i]);
                }
                out.flush();
            }
            table.footer();
        }
    }

    /** Times one prefill, dense (sparse null) or sparse. */
    private interface PrefillTimer extends AutoCloseable {
        String device();

        LlamaConfig config();

        int bos();

        long prefillNanos(int[] prompt, SparsePrefill sparse);

        /** What the last timed prefill measured besides its time (breakdown, memory, decode, energy), or "". */
        default String lastDetails() {
            return "";
        }

        /** A line printed once before the table (e.g. that energy is not measured), if any. */
        default java.util.Optional<String> preamble() {
            return java.util.Optional.empty();
        }

        @Override
        void close();
    }

    private record CpuPrefillTimer(CpuBackend backend, LlamaModel model, int blockSize, ProgressBar progress)
            implements PrefillTimer {
        public String device() {
            return backend.name() + " (" + backend.threads() + " threads)";
        }

        public LlamaConfig config() {
            return model.config();
        }

        public int bos() {
            return model.tokenizer() == null ? 0 : model.tokenizer().bos();
        }

        public long prefillNanos(int[] prompt, SparsePrefill sparse) {
            LlamaModel noStop = new LlamaModel(model.source(), model.config(), model.weights(),
                    model.tokenizer() == null ? null : new NoStopTokenizer(model.tokenizer()));
            try (Generator generator = new Generator(noStop, backend, null, blockSize,
                    sparse == null ? null : sparse.withThreshold(0))) {
                return generator.generate(prompt, 0, SamplingOptions.GREEDY, id -> { }, progress).prefillNanos();
            }
        }

        public void close() {
            model.close();
        }
    }

    /**
     * The weights go up once; each prefill gets a fresh forward pass, followed by the decode steps asked for. A
     * timed run also reports its device-time breakdown by phase, the device memory in use at its peak (sampled after
     * every layer, weights included), decode tokens/s, and the joules of the prefill and of each generated token
     * where NVML is present, with the floors of the linear layers (FLOPs at cuBLASLt's rate) and of decode (bytes
     * at the memory bandwidth).
     */
    private static final class GpuPrefillTimer implements PrefillTimer {
        /** cuBLASLt's bf16 GEMM rate on an H200 (BENCHMARKS.md), for the linear layers' floor. */
        static final double GEMM_FLOPS = 780e12;
        /** An H200's HBM3e bandwidth, for decode's floor. */
        static final double MEMORY_BYTES_PER_SECOND = 4.8e12;

        private final CudaBackend cuda;
        private final GpuLlamaWeights weights;
        private final ProgressBar progress;
        private final KvCacheType kvCache;
        private final int decodeTokens;
        private final EnergyMeter energy;
        private final GpuPhaseProfile profile;
        private String lastDetails = "";

        GpuPrefillTimer(CudaBackend cuda, GpuLlamaWeights weights, ProgressBar progress, KvCacheType kvCache,
                        int decodeTokens) {
            this.cuda = cuda;
            this.weights = weights;
            this.progress = progress;
            this.kvCache = kvCache;
            this.decodeTokens = decodeTokens;
            this.energy = EnergyMeter.open(cuda.device().ordinal());
            this.profile = new GpuPhaseProfile(cuda.context());
        }

        public String device() {
            return cuda.device().toString();
        }

        public LlamaConfig config() {
            return weights.config();
        }

        public int bos() {
            return 0;
        }

        public java.util.Optional<String> preamble() {
            return energy.available() ? java.util.Optional.empty() : java.util.Optional.of(energy.unavailableLine());
        }

        public long prefillNanos(int[] prompt, SparsePrefill sparse) {
            return run(prompt, sparse, progress);
        }

        public String lastDetails() {
            return lastDetails;
        }

        private long run(int[] prompt, SparsePrefill sparse, io.minference.runtime.ProgressListener listener) {
            LlamaConfig c = weights.config();
            long[] peak = {0};
            io.minference.runtime.ProgressListener sampling = (stage, done, total) -> {
                peak[0] = Math.max(peak[0], cuda.context().memoryInfo().usedBytes());
                listener.progress(stage, done, total);
            };
            try (GpuLlamaForward forward = new GpuLlamaForward(weights, cuda, prompt.length + decodeTokens,
                    GpuLlamaForward.DEFAULT_CHUNK_SIZE, true, kvCache)) {
                forward.markPhases(profile);
                cuda.context().synchronize();
                EnergyMeter.Reading before = energy.read();
                long start = System.nanoTime();
                if (sparse == null) {
                    forward.prefill(prompt, sampling);
                } else {
                    try (DevicePromptAttention attention = SparsePrefills.gpu(sparse.plan(), cuda.context(),
                            new AttentionShape(c.numHeads(), c.numKvHeads(), c.headDim()))) {
                        forward.prefill(prompt, sampling, attention);
                    }
                }
                cuda.context().synchronize();
                long nanos = System.nanoTime() - start;
                EnergyMeter.Energy prefillEnergy = energy.since(before);
                var phases = profile.finish(cuda.stream());
                peak[0] = Math.max(peak[0], cuda.context().memoryInfo().usedBytes());
                String decode = decode(forward, prompt.length);
                lastDetails = String.format(Locale.ROOT, "%s; peak device memory %s; %s; prefill energy %s",
                        breakdown(phases, nanos, prompt.length), gib(peak[0]), decode, prefillEnergy.describe());
                return nanos;
            }
        }

        /** Linear layers, attention kernels, estimation and index, KV store and the rest, with the linear floor. */
        private String breakdown(java.util.Map<PhaseMarks.Phase, Double> millis, long nanos, int length) {
            double linear = millis.get(PhaseMarks.Phase.LINEAR) / 1e3;
            double attention = millis.get(PhaseMarks.Phase.ATTENTION) / 1e3;
            double index = millis.get(PhaseMarks.Phase.INDEX) / 1e3;
            double store = millis.get(PhaseMarks.Phase.KV_STORE) / 1e3;
            double other = nanos / 1e9 - linear - attention - index - store;
            double floor = 2.0 * length * nonEmbeddingParameters(weights.config()) / GEMM_FLOPS;
            if (linear + attention + index + store == 0) {
                return String.format(Locale.ROOT, "no breakdown (the chunked dense prefill marks no phases; linear"
                        + " floor %.3f s at %.0f TFLOP/s)", floor, GEMM_FLOPS / 1e12);
            }
            return String.format(Locale.ROOT, "linear layers %.3f s (floor %.3f s at %.0f TFLOP/s), attention kernels"
                    + " %.3f s, estimation and index %.3f s, KV store %.3f s, other %.3f s", linear, floor,
                    GEMM_FLOPS / 1e12, attention, index, store, other);
        }

        /** Decode steps after the prefill (the first, which captures the CUDA graph, untimed), with the floor. */
        private String decode(GpuLlamaForward forward, int length) {
            if (decodeTokens < 2) return "decode not timed (--decode-tokens below 2)";
            int token = forward.argmaxOfLogits();
            token = forward.decodeArgmax(token);
            EnergyMeter.Reading before = energy.read();
            long start = System.nanoTime();
            for (int i = 1; i < decodeTokens; i++) token = forward.decodeArgmax(token);
            double seconds = (System.nanoTime() - start) / 1e9;
            EnergyMeter.Energy e = energy.since(before);
            int steps = decodeTokens - 1;
            LlamaConfig c = weights.config();
            double kvBytesPerPosition = 2.0 * c.numLayers() * c.kvDim() * (kvCache == KvCacheType.FP8 ? 1 : 2);
            double floor = (GpuMemoryPlan.weightBytes(c, weights.sharedClassifier()) + kvBytesPerPosition * length)
                    / MEMORY_BYTES_PER_SECOND;
            return String.format(Locale.ROOT, "decode %.1f tok/s (floor %.1f tok/s at %.1f TB/s), %s per token",
                    steps / seconds, 1 / floor, MEMORY_BYTES_PER_SECOND / 1e12,
                    Double.isNaN(e.joules()) ? "energy n/a" : String.format(Locale.ROOT, "%.2f J", e.joules() / steps));
        }

        public void close() {
            profile.close();
            energy.close();
            weights.close();
        }
    }

    /** Parameters outside the embedding and classifier: what the linear layers multiply per token. */
    static long nonEmbeddingParameters(LlamaConfig c) {
        long qDim = (long) c.numHeads() * c.headDim();
        return (long) c.numLayers() * ((qDim + 2L * c.kvDim()) * c.dim() + qDim * c.dim() + 3L * c.hiddenDim() * c.dim());
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

    /** The GPU path: weights made on the device for synthetic models, uploaded otherwise; greedy decode. */
    private final class GpuBench {
        private final CudaBackend cuda;
        private final PrintWriter out;
        private final ProgressBar progress;

        GpuBench(CudaBackend cuda, PrintWriter out, ProgressBar progress) {
            this.cuda = cuda;
            this.out = out;
            this.progress = progress;
        }

        void run(String modelName, java.nio.file.Path tokenizerFile, List<Integer> promptLengths) {
            long before = cuda.context().memoryInfo().usedBytes();
            try (GpuLlamaWeights weights = weights(modelName, tokenizerFile, java.util.Collections.max(promptLengths),
                    false)) {
                LlamaConfig c = weights.config();
                out.printf(Locale.ROOT, "model %s on %s%n", modelName, cuda.device());
                printHeader(out, "device memory");
                warmUp(weights);
                for (int length : promptLengths) {
                    int capacity = length + decodeTokens;
                    GpuMemoryPlan.of(c, weights.sharedClassifier(), length, decodeTokens,
                            GpuLlamaForward.DEFAULT_CHUNK_SIZE, kvCache(), false)
                            .requireSequenceFits(cuda.context().memoryInfo().freeBytes(), length + " tokens");
                    try (GpuLlamaForward forward = new GpuLlamaForward(weights, cuda, capacity,
                            GpuLlamaForward.DEFAULT_CHUNK_SIZE, true, kvCache())) {
                        int[] prompt = randomPrompt(length, 0, c.vocabSize());
                        long start = System.nanoTime();
                        float[] logits = forward.prefill(prompt, progress);
                        long prefill = System.nanoTime() - start;
                        long used = cuda.context().memoryInfo().usedBytes() - before;
                        start = System.nanoTime();
                        for (int i = 0; i < decodeTokens; i++) logits = forward.decode(GreedySampler.argmax(logits));
                        long decode = System.nanoTime() - start;
                        printRow(out, length, prefill, length * 1e9 / prefill, decodeTokens * 1e9 / Math.max(1, decode),
                                gib(used));
                    }
                }
            }
        }

        /**
         * The model's weights on the device, after checking that they and a sequence of {@code longestPrompt} tokens
         * (with the whole-prompt buffers of a sparse prefill when {@code layerMajor}) fit the free device memory.
         */
        GpuLlamaWeights weights(String modelName, java.nio.file.Path tokenizerFile, int longestPrompt,
                                boolean layerMajor) {
            if (modelName.startsWith("synthetic:")) {
                SyntheticShape shape = SyntheticShape.parse(modelName.substring("synthetic:".length()));
                requirePlanFits(modelName, shape.config(), shape.sharedClassifier(), longestPrompt, layerMajor);
                return SyntheticGpuWeights.generate(cuda, shape);
            }
            try (LlamaModel host = ModelLoader.load(modelName, tokenizerFile, progress)) {
                requirePlanFits(modelName, host.config(), host.weights().sharedClassifier(), longestPrompt,
                        layerMajor);
                return GpuLlamaWeights.upload(cuda.context(), host);
            }
        }

        /** Refuses, before anything is allocated, what the free device memory cannot hold, naming the sizes. */
        private void requirePlanFits(String modelName, LlamaConfig c, boolean sharedClassifier, int longestPrompt,
                                     boolean layerMajor) {
            requireFits(List.of(longestPrompt), c.contextLength());
            GpuMemoryPlan plan = GpuMemoryPlan.of(c, sharedClassifier, longestPrompt, decodeTokens,
                    GpuLlamaForward.DEFAULT_CHUNK_SIZE, kvCache(), layerMajor);
            err().println("device memory plan for " + longestPrompt + " tokens: " + plan.describe());
            plan.requireFits(cuda.context().memoryInfo().freeBytes(), modelName + " with " + longestPrompt + " tokens");
        }

        /** One short prefill and decode step, so that kernel JIT compilation stays out of the figures. */
        private void warmUp(GpuLlamaWeights weights) {
            try (GpuLlamaForward forward = new GpuLlamaForward(weights, cuda, 80, GpuLlamaForward.DEFAULT_CHUNK_SIZE,
                    true, kvCache())) {
                forward.decode(GreedySampler.argmax(forward.prefill(randomPrompt(64, 0, weights.config().vocabSize()),
                        io.minference.runtime.ProgressListener.NONE)));
            }
        }
    }

    /** The KV cache format from --kv-cache, else bf16. */
    private KvCacheType kvCache() {
        return kvCache != null ? kvCache : KvCacheType.BF16;
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
