package io.minference.llama.session;

import io.minference.config.KvCacheType;
import io.minference.config.KvOffload;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.attention.CpuCausalAttention;
import io.minference.kernels.attention.PromptAttention;
import io.minference.kernels.catalog.KernelCatalog;
import io.minference.kernels.flash.DevicePromptAttention;
import io.minference.kernels.flash.PhaseMarks;
import io.minference.llama.KvCacheCodes;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.forward.ForwardPass;
import io.minference.llama.forward.LlamaForward;
import io.minference.llama.generate.GenerationEnergy;
import io.minference.llama.generate.GenerationResult;
import io.minference.llama.generate.ScoreResult;
import io.minference.llama.generate.SparsePrefill;
import io.minference.llama.generate.StopSequences;
import io.minference.llama.gpu.DecodeBreakdown;
import io.minference.llama.gpu.GpuLlamaForward;
import io.minference.llama.gpu.GpuLlamaWeights;
import io.minference.llama.gpu.GpuMemoryPlan;
import io.minference.llama.gpu.GpuPhaseProfile;
import io.minference.llama.gpu.KernelMarks;
import io.minference.llama.gpu.LinearKernel;
import io.minference.llama.gpu.SyntheticGpuWeights;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.synthetic.SyntheticShape;
import io.minference.llama.sampling.GreedySampler;
import io.minference.llama.sampling.RandomSampler;
import io.minference.llama.sampling.Sampler;
import io.minference.llama.tokenizer.Tokenizer;
import io.minference.ptx.PtxTarget;
import io.minference.runtime.Backend;
import io.minference.runtime.Backends;
import io.minference.runtime.HostMemory;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.EnergyMeter;
import io.minference.sparse.HeadAccuracy;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.IndexDensity;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.PatternSearch;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.SparsePrefills;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.gpu.SparseKernels;
import io.minference.sparse.pattern.HeadIndex;
import io.minference.sparse.pattern.IndexCapacity;
import io.minference.sparse.pattern.PatternRegistry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A model opened on a backend (CPU or CUDA) with an attention plan: the one way callers run the model.
 *
 * <pre>{@code
 * try (LlamaSession session = LlamaSession.open(model, "auto", AttentionPlan.dense(), 128)) {
 *     GenerationResult r = session.generate(prompt, GenerationRequest.of(32).withStop(List.of("\n")), listener);
 *     PrefillResult p = session.prefill(prompt, PrefillOptions.lastLogits(16));   // logits of the last 16
 * }
 * }</pre>
 *
 * <p>On a {@link CudaBackend} the weights are uploaded once, when the session opens, and freed when it closes; each
 * sequence then gets its own KV cache. The model stays the caller's to close; the backend is the session's when it
 * was opened by device name.
 *
 * <p>Prefill follows the plan: dense prompts go through in blocks (CPU) or chunks (GPU), sparse ones layer-major
 * with each head's index estimated from the prompt. Decode steps are always dense. Each prefill reports its time
 * and the fraction of the causal area it computed; a device prefill can also report where its time went
 * ({@link PrefillOptions#profiling()}). The plan also names the KV cache's format (bf16, or 8-bit codes, fp8 (e4m3) or
 * int8, read by decode).
 */
public final class LlamaSession implements AutoCloseable {
    /** The name of dense attention in reports. */
    public static final String DENSE = GenerationResult.DENSE;
    /** Why the CPU backend refuses an offloaded KV cache. */
    public static final String CPU_OFFLOAD = "--kv-offload host moves a GPU's KV cache to pinned host memory; the"
            + " CPU backend keeps its cache in host memory already: drop --kv-offload (or use --device cuda)";

    private final LlamaModel model;
    private final Tokenizer tokenizer;
    private final LlamaConfig config;
    private final String source;
    private final Backend backend;
    private final boolean ownsBackend;
    private final boolean ownsModel;
    private final AttentionPlan plan;
    private final int blockSize;
    private final GpuLlamaWeights gpuWeights;
    /** Made at the first profiled prefill, its events reused by the next ones. */
    private GpuPhaseProfile phaseProfile;
    /** Opened at first use. */
    private EnergyMeter energyMeter;

    private LlamaSession(LlamaModel model, Backend backend, boolean ownsBackend, boolean ownsModel, AttentionPlan plan,
                         int blockSize) {
        if (blockSize < 1) throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        LlamaConfig c = model.config();
        plan.sparsePrefill().ifPresent(s -> s.plan().requireShape(c.numLayers(), c.numHeads(), s.source()));
        this.model = model;
        this.tokenizer = model.tokenizer();
        this.config = c;
        this.source = model.source();
        this.backend = backend;
        this.ownsBackend = ownsBackend;
        this.ownsModel = ownsModel;
        this.plan = plan;
        this.blockSize = blockSize;
        switch (backend) {
            case CpuBackend cpu -> {
                // Refused when the session opens, before any prompt: the flag would do nothing here.
                if (plan.kvOffload() == KvOffload.HOST) throw new IllegalArgumentException(CPU_OFFLOAD);
                this.gpuWeights = null;
            }
            case CudaBackend gpu -> {
                GpuMemoryPlan.of(c, model.weights().sharedClassifier(), 1, 1, 0)
                        .requireFits(gpu.context().memoryInfo().freeBytes(), "the weights of " + model.source());
                this.gpuWeights = GpuLlamaWeights.upload(gpu.context(), model);
            }
            case null, default -> throw new IllegalArgumentException("the forward pass runs on the cpu or cuda"
                    + " backend, not on " + (backend == null ? "null" : backend.name()));
        }
    }

    /**
     * Opens {@code model} on the caller's backend, which stays the caller's to close.
     *
     * @param plan      the attention of prefills that do not name another; checked against the model here
     * @param blockSize prompt tokens per CPU block
     */
    public static LlamaSession open(LlamaModel model, Backend backend, AttentionPlan plan, int blockSize) {
        return new LlamaSession(model, backend, false, false, plan, blockSize);
    }

    /**
     * Loads {@code modelName} (a .gguf file, a llama2.c checkpoint or synthetic:NAME, see {@link ModelLoader#load})
     * and opens it on the backend {@code device} names, the session owning both. On a GPU a synthetic model's
     * weights are made on the device, never on the host (an 8B shape would take minutes and tens of GB there): such a
     * session has no host weights, so it cannot {@link #observe} ({@link #hasHostWeights()}).
     *
     * @param plan the attention plan for the model's shape, checked against it
     */
    public static LlamaSession load(String modelName, Path tokenizer, String device,
                                    Function<LlamaConfig, AttentionPlan> plan, int blockSize,
                                    ProgressListener progress) {
        Backend selected = Backends.select(device);
        try {
            if (selected instanceof CudaBackend cuda && modelName.startsWith(ModelLoader.SYNTHETIC_PREFIX)) {
                SyntheticShape shape = SyntheticShape.parse(modelName.substring(ModelLoader.SYNTHETIC_PREFIX.length()));
                GpuMemoryPlan.of(shape.config(), shape.sharedClassifier(), 1, 1, 0)
                        .requireFits(cuda.context().memoryInfo().freeBytes(), "the weights of " + modelName);
                return new LlamaSession(ModelLoader.syntheticTokenizer(shape, tokenizer), shape.config(), modelName,
                        cuda, plan.apply(shape.config()), blockSize, SyntheticGpuWeights.generate(cuda, shape));
            }
            LlamaModel model = ModelLoader.load(modelName, tokenizer, progress);
            try {
                return new LlamaSession(model, selected, true, true, plan.apply(model.config()), blockSize);
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
        } catch (RuntimeException e) {
            selected.close();
            throw e;
        }
    }

    /**
     * Opens {@code model} on the backend {@code device} names ("auto", "cpu", "cuda", "cuda:N"), which the session
     * closes with itself.
     */
    public static LlamaSession open(LlamaModel model, String device, AttentionPlan plan, int blockSize) {
        Backend selected = Backends.select(device);
        try {
            return new LlamaSession(model, selected, true, false, plan, blockSize);
        } catch (RuntimeException e) {
            selected.close();
            throw e;
        }
    }

    /** A session over weights made on the device (a synthetic model): no host model. */
    private LlamaSession(Tokenizer tokenizer, LlamaConfig config, String source, CudaBackend backend,
                         AttentionPlan plan, int blockSize, GpuLlamaWeights weights) {
        plan.sparsePrefill().ifPresent(s -> s.plan().requireShape(config.numLayers(), config.numHeads(), s.source()));
        this.model = null;
        this.tokenizer = tokenizer;
        this.config = config;
        this.source = source;
        this.backend = backend;
        this.ownsBackend = true;
        this.ownsModel = false;
        this.plan = plan;
        this.blockSize = blockSize;
        this.gpuWeights = weights;
    }

    /**
     * Opens {@code model} on the backend {@code device} names, the session closing both the backend and the model:
     * for a caller that loaded the model only to run it here (the server).
     */
    public static LlamaSession openOwning(LlamaModel model, String device, AttentionPlan plan, int blockSize) {
        Backend selected;
        try {
            selected = Backends.select(device);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        try {
            return new LlamaSession(model, selected, true, true, plan, blockSize);
        } catch (RuntimeException e) {
            selected.close();
            model.close();
            throw e;
        }
    }

    public LlamaConfig config() {
        return config;
    }

    /** Where the model came from: a path, or synthetic:NAME. */
    public String source() {
        return source;
    }

    /** The model's tokenizer, or null when it has none. */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** Whether the weights are also on the host, as {@link #observe} needs (not for synthetic weights made on a GPU). */
    public boolean hasHostWeights() {
        return model != null;
    }

    /** Device memory in use now, in bytes (weights, and any open sequence), or -1 on the CPU. */
    public long deviceBytesInUse() {
        return backend instanceof CudaBackend cuda ? cuda.context().memoryInfo().usedBytes() : -1;
    }

    /** The session's attention plan. */
    public AttentionPlan attention() {
        return plan;
    }

    /** The backend in words: "cpu (2 threads, AMX int8 kernels)", or the GPU's name. */
    public String device() {
        return switch (backend) {
            case CudaBackend cuda -> cuda.device().toString();
            case CpuBackend cpu -> cpu.describe();
            default -> backend.name();
        };
    }

    /** Whether the session runs on a GPU. */
    public boolean onGpu() {
        return gpuWeights != null;
    }

    /**
     * A new sequence of {@code capacity} positions, its KV cache in the format the session's plan names. On a GPU, a
     * sequence (and, when the plan is sparse at that length or the cache 8-bit, the buffers of a whole-prompt prefill)
     * that does not fit the free device memory is refused here, naming the sizes.
     */
    public Sequence newSequence(int capacity) {
        return newSequence(capacity, plan);
    }

    /**
     * As {@link #newSequence(int)}, for prefills that follow {@code attention}: sized for them, its KV cache in the
     * format {@code attention} names.
     */
    public Sequence newSequence(int capacity, AttentionPlan attention) {
        KvCacheType kvCache = attention.kvCache();
        if (gpuWeights == null) {
            if (attention.kvOffload() == KvOffload.HOST) throw new IllegalArgumentException(CPU_OFFLOAD);
            LlamaForward cpu = new LlamaForward(model.config(), model.weights(), (CpuBackend) backend, capacity,
                    blockSize);
            if (kvCache.coded()) cpu.useCodedKvCache(KvCacheCodes.of(kvCache));
            return new CpuSequence(cpu, kvCache);
        }
        CudaBackend cuda = (CudaBackend) backend;
        GpuMemoryPlan plan = devicePlan(capacity, attention).orElseThrow();
        String what = "a sequence of " + capacity + " tokens";
        plan.requireSequenceFits(cuda.context().memoryInfo().freeBytes(), what);
        HostMemory.availableBytes().ifPresent(available -> plan.requireHostFits(available, what));
        return new GpuSequence(new GpuLlamaForward(gpuWeights, cuda, capacity, GpuLlamaForward.DEFAULT_CHUNK_SIZE,
                true, kvCache, attention.kvOffload()), cuda, kvCache);
    }

    /**
     * What the weights and a sequence of {@code capacity} positions for prefills that follow {@code attention} take
     * on the device, part by part (the whole-prompt buffers sized for a prompt of that length); empty on the CPU.
     */
    public Optional<GpuMemoryPlan> devicePlan(int capacity, AttentionPlan attention) {
        if (gpuWeights == null) return Optional.empty();
        return Optional.of(GpuMemoryPlan.of(config, gpuWeights.sharedClassifier(), capacity, 0,
                GpuLlamaForward.DEFAULT_CHUNK_SIZE, attention.kvCache(), attention.kvOffload(),
                attention.sparseFor(capacity)));
    }

    /**
     * The GPU's energy meter (NVML's total-energy counter), opened at the first call and closed with the session;
     * on the CPU, or where NVML is absent, a meter that says why it measures nothing.
     */
    public EnergyMeter energyMeter() {
        if (energyMeter == null) {
            energyMeter = backend instanceof CudaBackend cuda ? EnergyMeter.open(cuda.device().ordinal())
                    : EnergyMeter.unavailable("the session runs on the cpu");
        }
        return energyMeter;
    }

    /** Prefills {@code prompt} in a sequence of its own length and returns the logits the options ask for. */
    public PrefillResult prefill(int[] prompt, PrefillOptions options) {
        checkPrompt(prompt);
        try (Sequence sequence = newSequence(prompt.length, planOf(options))) {
            return sequence.prefill(prompt, options);
        }
    }

    /**
     * Prefills {@code prompt}, then samples tokens until a stop token, a stop sequence, the token limit or the end
     * of the context, streaming them to {@code listener}. Each call is an independent sequence with a KV cache
     * sized to it.
     *
     * @param prompt prompt ids, BOS included where wanted; a prompt that does not fit the context is refused with
     *               an IllegalArgumentException naming both lengths
     */
    public GenerationResult generate(int[] prompt, GenerationRequest request, GenerationListener listener) {
        LlamaConfig config = this.config;
        checkPrompt(prompt);
        Tokenizer tokenizer = tokenizer();
        if (!request.stop().isEmpty() && tokenizer == null) {
            throw new IllegalArgumentException("stop sequences need a tokenizer, and " + source + " has none");
        }
        AttentionPlan attention = request.attention() != null ? request.attention() : plan;
        Sampler sampler = Sampler.of(request.sampling());
        StopSequences.Matcher stops = new StopSequences(request.stop()).matcher();
        Tokenizer.StreamingDecoder decoder = tokenizer == null ? null : tokenizer.streamingDecoder();
        StringBuilder text = new StringBuilder();
        List<TokenLogprobs> logprobs = new ArrayList<>();

        int capacity = (int) Math.min(config.contextLength(), (long) prompt.length + request.maxTokens());
        capacity = Math.max(capacity, prompt.length);
        int[] generated = new int[capacity - prompt.length];
        int count = 0;
        String stopReason;
        PrefillResult prefill;
        long decodeStart;
        // NVML's counter around the prefill and the decode: the prefill's logits and each chosen token come back to
        // the host, so the device has finished the work measured at each reading.
        EnergyMeter meter = energyMeter();
        EnergyMeter.Energy prefillEnergy;
        EnergyMeter.Reading decodeReading;
        try (BackendSequence sequence = (BackendSequence) newSequence(capacity, attention)) {
            PrefillOptions options = PrefillOptions.lastLogits(1).withAttention(attention).withProgress(listener);
            EnergyMeter.Reading prefillReading = meter.read();
            prefill = sequence.prefill(prompt, request.measureDensity() ? options.measuringDensity() : options);
            prefillEnergy = meter.since(prefillReading);
            decodeReading = meter.read();
            decodeStart = System.nanoTime();
            // Tokens are picked on the device where it can, so that only their ids cross to the host; asking for
            // log-probabilities reads the logits on the host instead.
            boolean onHost = request.wantsLogprobs() || !sequence.choosesOnDevice(sampler);
            float[] logits = prefill.lastLogits();
            int token = onHost ? sample(sampler, logits, prompt.length) : sequence.chooseOnDevice(sampler);
            while (true) {
                if (count == request.maxTokens()) {
                    stopReason = "length";
                    break;
                }
                if (prompt.length + count == config.contextLength()) {
                    stopReason = "context";
                    break;
                }
                if (tokenizer != null && tokenizer.isStopToken(token)) {
                    stopReason = "eos";
                    break;
                }
                generated[count++] = token;
                TokenLogprobs lp = request.wantsLogprobs() ? TokenLogprobs.of(logits, token, request.topLogprobs())
                        : null;
                if (lp != null) logprobs.add(lp);
                String released = decoder == null ? "" : stops.offer(decoder.next(token));
                text.append(released);
                listener.token(token, released, lp);
                if (stops.stopped()) {
                    stopReason = "stop";
                    break;
                }
                // The last token allowed needs no forward pass: nothing will be sampled after it.
                if (count == request.maxTokens() || prompt.length + count == config.contextLength()) continue;
                if (onHost) {
                    logits = sequence.decode(token);
                    token = sample(sampler, logits, prompt.length + count);
                } else {
                    token = sequence.decodeOnDevice(token, sampler);
                }
            }
        }
        long decodeNanos = System.nanoTime() - decodeStart;
        GenerationEnergy energy = !meter.available() ? GenerationEnergy.notMeasured(meter.unavailableLine())
                // NVML's counter advances in steps: a prefill of a few milliseconds is not a measurement
                : !prefillEnergy.resolvable() ? GenerationEnergy.notMeasured(String.format(
                        Locale.ROOT, "energy: not measured (the prefill's %.1f ms are shorter than NVML's energy"
                        + " counter resolves)", prefillEnergy.seconds() * 1e3))
                : new GenerationEnergy(prefillEnergy, meter.since(decodeReading), count, "");
        if (decoder != null && !stops.stopped()) {
            String tail = stops.offer(decoder.flush());
            if (stops.stopped()) stopReason = "stop";
            else tail += stops.finish();
            text.append(tail);
            listener.finish(tail);
        }
        return new GenerationResult(Arrays.copyOf(generated, count), prompt.length, prefill.nanos(), decodeNanos,
                stopReason, prefill.attention(), text.toString(), prefill.density(), logprobs, energy);
    }

    /**
     * Scores a text's continuation: prefills {@code context} (following the session's plan), then feeds
     * {@code continuation} one token at a time (dense decode, teacher forcing), summing the negative
     * log-likelihood of each continuation token under the logits before it.
     */
    public ScoreResult score(int[] context, int[] continuation, ProgressListener progress) {
        return score(context, continuation, plan, progress);
    }

    /** As {@link #score(int[], int[], ProgressListener)}, the context prefilled as {@code attention} says. */
    public ScoreResult score(int[] context, int[] continuation, AttentionPlan attention, ProgressListener progress) {
        LlamaConfig config = this.config;
        checkPrompt(context);
        if (continuation.length == 0) throw new IllegalArgumentException("nothing to score: the continuation is empty");
        long total = (long) context.length + continuation.length - 1;
        if (total > config.contextLength()) {
            throw new IllegalArgumentException("context of " + context.length + " tokens plus " + continuation.length
                    + " scored tokens does not fit the model's context of " + config.contextLength() + " tokens");
        }
        checkVocabulary(continuation, "continuation token");
        double nll = 0;
        PrefillResult prefill;
        try (Sequence sequence = newSequence((int) Math.max(total, context.length), attention)) {
            prefill = sequence.prefill(context, PrefillOptions.lastLogits(1).withAttention(attention)
                    .withProgress(progress));
            float[] logits = prefill.lastLogits();
            for (int i = 0; i < continuation.length; i++) {
                checkFinite(logits, context.length + i);
                nll -= logSoftmax(logits, continuation[i]);
                if (i + 1 < continuation.length) logits = sequence.decode(continuation[i]);
            }
        }
        return new ScoreResult(nll, continuation.length, context.length, prefill.nanos(), prefill.attention(),
                prefill.density());
    }

    /**
     * Runs a dense prefill of {@code prompt} through its first {@code layers} layers on the CPU (from the host
     * weights, whatever the session's backend), showing each layer's queries, keys and values to {@code observer},
     * and stops there: no logits, nothing kept.
     */
    public void observe(int[] prompt, int layers, LayerObserver observer, ProgressListener progress) {
        checkPrompt(prompt);
        if (model == null) {
            throw new IllegalStateException(source + " was made on the device and has no host weights to observe;"
                    + " observe it on the cpu");
        }
        CpuBackend cpu = backend instanceof CpuBackend given ? given : new CpuBackend();
        PromptAttention dense = PromptAttention.dense(new CpuCausalAttention(cpu), blockSize);
        PromptAttention recording = (layer, shape, queries, keys, values, out, length) -> {
            observer.layer(layer, shape, queries, keys, values, length);
            if (layer < layers - 1) dense.attend(layer, shape, queries, keys, values, out, length);
        };
        try (LlamaForward forward = new LlamaForward(model.config(), model.weights(), cpu, prompt.length,
                blockSize)) {
            forward.prefillLayers(prompt, progress, recording, layers);
        } finally {
            if (cpu != backend) cpu.close();
        }
    }

    /**
     * The keys that head {@code head} of layer {@code layer} keeps for {@code prompt} under {@code pattern}, as an
     * index of that head alone: a dense prefill up to that layer ({@link #observe}), whose queries and keys the
     * pattern estimates its index from, as the sparse prefill would.
     */
    public SparseIndex headIndex(int[] prompt, HeadPattern pattern, int layer, int head, ProgressListener progress) {
        LlamaConfig c = config;
        if (layer < 0 || layer >= c.numLayers()) {
            throw new IllegalArgumentException("layer must be from 0 to " + (c.numLayers() - 1) + ", got " + layer);
        }
        if (head < 0 || head >= c.numHeads()) {
            throw new IllegalArgumentException("head must be from 0 to " + (c.numHeads() - 1) + ", got " + head);
        }
        SparseIndex[] found = new SparseIndex[1];
        observe(prompt, layer + 1, (l, shape, queries, keys, values, length) -> {
            if (l != layer) return;
            HeadIndex selection = PatternRegistry.standard().estimate(pattern,
                    new LayerInputs(shape, queries, keys, length), head);
            IndexCapacity capacity = selection.capacity();
            SparseIndex index = new SparseIndex(head, 1, length, capacity.maxRanges(), capacity.maxColumns());
            selection.writeTo(index, 0);
            found[0] = index;
        }, progress);
        return found[0];
    }

    /**
     * The keys that head {@code head} of layer {@code layer} keeps for {@code prompt} under {@code attention}'s
     * pattern for that head ({@link #headIndex}); empty for a dense plan.
     */
    public Optional<KeptKeys> headKeys(int[] prompt, AttentionPlan attention, int layer, int head,
                                       ProgressListener progress) {
        if (attention.sparsePrefill().isEmpty()) return Optional.empty();
        HeadPattern pattern = attention.sparsePrefill().get().plan().pattern(layer, head);
        return Optional.of(KeptKeys.of(headIndex(prompt, pattern, layer, head, progress), 0));
    }

    /**
     * Per head of each layer (or of {@code onlyLayer} alone, when it is not negative), how well {@code plan}'s
     * pattern covers the head's real attention on {@code prompt}: its index density, the attention mass it keeps
     * (recall) and the relative error of its output against dense. Results go to {@code results} layer by layer, as
     * a dense CPU prefill reaches them.
     */
    public void recall(int[] prompt, PatternPlan plan, int onlyLayer, Consumer<HeadRecall> results,
                       ProgressListener progress) {
        plan.requireShape(config.numLayers(), config.numHeads(), "the pattern plan");
        int layers = onlyLayer < 0 ? config.numLayers() : onlyLayer + 1;
        observe(prompt, layers, (layer, shape, queries, keys, values, length) -> {
            if (onlyLayer >= 0 && layer != onlyLayer) return;
            List<HeadPattern> patterns = plan.layers().get(layer);
            for (HeadAccuracy.Result r : HeadAccuracy.measure(shape, queries, keys, values, length, patterns)) {
                results.accept(new HeadRecall(layer, r.head(), patterns.get(r.head()), r.density(), r.recall(),
                        r.relativeError()));
            }
        }, progress);
    }

    /**
     * Every head's choice, searched on {@code prompt}'s real attention ({@link PatternSearch#searchLayer}) during a
     * dense CPU prefill, by layer: the chosen patterns (what a pattern file records), each with every candidate's
     * cost in tiles, recall and output errors.
     */
    public List<List<PatternSearch.Choice>> searchPatterns(int[] prompt, PatternSearch.Settings search,
                                                           ProgressListener progress) {
        List<List<PatternSearch.Choice>> layers = new ArrayList<>(Collections.nCopies(config.numLayers(), null));
        observe(prompt, config.numLayers(), (layer, shape, queries, keys, values, length) ->
                layers.set(layer, PatternSearch.searchLayer(shape, queries, keys, values, length, search)), progress);
        return layers;
    }

    /**
     * Every kernel a session may launch for this attention shape on {@code target}: the dense catalog (prefill,
     * decode, the layers' kernels) with the sparse prefill's (estimation, index, sparse attention), for the
     * {@code minference kernels} dump. A shape the kernels cannot serve is an IllegalArgumentException naming it.
     */
    public static KernelCatalog kernelCatalog(int heads, int kvHeads, int headDim, PtxTarget target) {
        AttentionShape shape = new AttentionShape(heads, kvHeads, headDim);
        return KernelCatalog.dense(shape, target).with(SparseKernels.forShape(shape));
    }

    /** log softmax(logits)[token], in double. */
    public static double logSoftmax(float[] logits, int token) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) max = Math.max(max, v);
        double sum = 0;
        for (float v : logits) sum += Math.exp(v - max);
        return logits[token] - max - Math.log(sum);
    }

    private AttentionShape shape() {
        LlamaConfig c = config;
        return new AttentionShape(c.numHeads(), c.numKvHeads(), c.headDim());
    }

    /** The plan a prefill runs: the options' own, or the session's. */
    private AttentionPlan planOf(PrefillOptions options) {
        return options.sessionAttention() ? plan : options.attention();
    }

    /**
     * A sequence over a backend's forward pass: the prefill's routing (dense, or layer-major through the plan's
     * sparse attention), its timing and density, written once; the backends supply the sparse prefill and where
     * tokens may be chosen.
     */
    private abstract class BackendSequence implements Sequence {
        final ForwardPass forward;
        final KvCacheType kvCache;

        BackendSequence(ForwardPass forward, KvCacheType kvCache) {
            this.forward = forward;
            this.kvCache = kvCache;
        }

        @Override
        public PrefillResult prefill(int[] tokens, PrefillOptions options) {
            checkPrompt(tokens);
            AttentionPlan attention = planOf(options);
            if (attention.kvCache() != kvCache) {
                throw new IllegalArgumentException("this sequence keeps a " + kvCache.label() + " KV cache; a prefill"
                        + " cannot ask for " + attention.kvCache().label() + " (make the sequence with that plan)");
            }
            return options.profile() ? profiledPrefill(tokens, options, attention)
                    : timedPrefill(tokens, options, attention);
        }

        /** The prefill's routing, dense or sparse, and its wall time and density. */
        final PrefillResult timedPrefill(int[] tokens, PrefillOptions options, AttentionPlan attention) {
            long start = System.nanoTime();
            if (!attention.sparseFor(tokens.length)) {
                float[][] logits = forward.prefill(tokens, options.progress(), options.logitsToKeep());
                return new PrefillResult(logits, tokens.length, System.nanoTime() - start, DENSE, 1.0, null);
            }
            SparsePrefill sparse = attention.sparsePrefill().orElseThrow();
            IndexDensity density = measuresDensity(options) ? IndexDensity.measure() : IndexDensity.off();
            float[][] logits = sparsePrefill(tokens, options, sparse, density);
            return new PrefillResult(logits, tokens.length, System.nanoTime() - start, sparse.mode(),
                    density.fraction(), null);
        }

        /** A prefill asked for its profile: the CPU has none to give, so it runs plain. */
        PrefillResult profiledPrefill(int[] tokens, PrefillOptions options, AttentionPlan attention) {
            return timedPrefill(tokens, options, attention);
        }

        /** Whether this prefill counts its indices (always on the CPU, where counting is cheap). */
        abstract boolean measuresDensity(PrefillOptions options);

        /** The layer-major prefill through the sparse plan, counting into {@code density}. */
        abstract float[][] sparsePrefill(int[] tokens, PrefillOptions options, SparsePrefill sparse,
                                         IndexDensity density);

        @Override
        public float[] decode(int token) {
            return forward.decode(token);
        }

        @Override
        public int decodeGreedy(int token) {
            return choosesOnDevice(GREEDY) ? decodeOnDevice(token, GREEDY) : GREEDY.sample(decode(token));
        }

        @Override
        public int position() {
            return forward.position();
        }

        @Override
        public int capacity() {
            return forward.capacity();
        }

        @Override
        public void close() {
            forward.close();
        }

        /** Whether {@link #chooseOnDevice} and {@link #decodeOnDevice} can pick with this sampler. */
        boolean choosesOnDevice(Sampler sampler) {
            return false;
        }

        /** The sampler's choice from the last prefill's or decode step's logits, made on the device. */
        int chooseOnDevice(Sampler sampler) {
            throw new UnsupportedOperationException("tokens are chosen on the host");
        }

        /** One decode step and the sampler's choice of the next token, made on the device. */
        int decodeOnDevice(int token, Sampler sampler) {
            throw new UnsupportedOperationException("tokens are chosen on the host");
        }
    }

    private final class CpuSequence extends BackendSequence {
        private final LlamaForward cpu;

        CpuSequence(LlamaForward forward, KvCacheType kvCache) {
            super(forward, kvCache);
            this.cpu = forward;
        }

        @Override
        boolean measuresDensity(PrefillOptions options) {
            return true;
        }

        @Override
        float[][] sparsePrefill(int[] tokens, PrefillOptions options, SparsePrefill sparse, IndexDensity density) {
            return cpu.prefill(tokens, options.progress(),
                    SparsePrefills.cpu(sparse.plan(), (CpuBackend) backend, density), options.logitsToKeep());
        }
    }

    private final class GpuSequence extends BackendSequence {
        private final GpuLlamaForward gpu;
        private final CudaBackend cuda;

        GpuSequence(GpuLlamaForward forward, CudaBackend cuda, KvCacheType kvCache) {
            super(forward, kvCache);
            this.gpu = forward;
            this.cuda = cuda;
        }

        /**
         * The prefill between CUDA events at its phases' marks, with NVML's counter read before and after it (the
         * device idle at both) and the memory in use sampled at every progress report.
         */
        @Override
        PrefillResult profiledPrefill(int[] tokens, PrefillOptions options, AttentionPlan attention) {
            if (phaseProfile == null) phaseProfile = new GpuPhaseProfile(cuda.context());
            EnergyMeter meter = energyMeter();
            long[] peak = {0};
            ProgressListener progress = options.progress();
            ProgressListener sampling = (stage, done, total) -> {
                peak[0] = Math.max(peak[0], deviceBytesInUse());
                progress.progress(stage, done, total);
            };
            gpu.markPhases(phaseProfile);
            try {
                cuda.context().synchronize();
                EnergyMeter.Reading before = meter.read();
                PrefillResult result = timedPrefill(tokens, options.withProgress(sampling), attention);
                cuda.context().synchronize();
                EnergyMeter.Energy energy = meter.since(before);
                GpuPhaseProfile.Breakdown breakdown = phaseProfile.finish(cuda.stream());
                Map<PhaseMarks.Phase, Double> millis = breakdown.phases();
                peak[0] = Math.max(peak[0], deviceBytesInUse());
                PrefillProfile.PhaseSeconds phases = new PrefillProfile.PhaseSeconds(
                        millis.get(PhaseMarks.Phase.LINEAR) / 1e3, millis.get(PhaseMarks.Phase.ATTENTION) / 1e3,
                        millis.get(PhaseMarks.Phase.INDEX) / 1e3, millis.get(PhaseMarks.Phase.KV_STORE) / 1e3);
                Map<LinearKernel, Double> kernels = new EnumMap<>(LinearKernel.class);
                breakdown.kernels().forEach((kernel, ms) -> kernels.put(kernel, ms / 1e3));
                return result.withProfile(new PrefillProfile(phases, kernels, peak[0], energy));
            } finally {
                gpu.markPhases(KernelMarks.NONE);
            }
        }

        @Override
        boolean measuresDensity(PrefillOptions options) {
            return options.measureDensity();
        }

        @Override
        float[][] sparsePrefill(int[] tokens, PrefillOptions options, SparsePrefill sparse, IndexDensity density) {
            try (DevicePromptAttention prompt = SparsePrefills.gpu(sparse.plan(), cuda.context(), shape(), density)) {
                return gpu.prefill(tokens, options.progress(), prompt, options.logitsToKeep());
            }
        }

        @Override
        boolean choosesOnDevice(Sampler sampler) {
            return sampler instanceof GreedySampler || sampler instanceof RandomSampler;
        }

        @Override
        int chooseOnDevice(Sampler sampler) {
            return switch (sampler) {
                case GreedySampler greedy -> gpu.argmaxOfLogits();
                case RandomSampler random -> gpu.sampleOfLogits(random.temperature(), random.topP(),
                        random.nextUniform());
                default -> super.chooseOnDevice(sampler);
            };
        }

        @Override
        public Optional<DecodeBreakdown> profileDecodeGreedy(int token) {
            return Optional.of(gpu.profileDecodeStep(token));
        }

        @Override
        int decodeOnDevice(int token, Sampler sampler) {
            return switch (sampler) {
                case GreedySampler greedy -> gpu.decodeArgmax(token);
                case RandomSampler random -> gpu.decodeSample(token, random.temperature(), random.topP(),
                        random.nextUniform());
                default -> super.decodeOnDevice(token, sampler);
            };
        }
    }

    private static final GreedySampler GREEDY = new GreedySampler();

    private static int sample(Sampler sampler, float[] logits, int position) {
        checkFinite(logits, position);
        return sampler.sample(logits);
    }

    private void checkPrompt(int[] prompt) {
        LlamaConfig config = this.config;
        if (prompt == null || prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty: at least one token (BOS, for instance) is needed");
        }
        if (prompt.length > config.contextLength()) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens does not fit the model's context of "
                    + config.contextLength() + " tokens");
        }
        checkVocabulary(prompt, "prompt token");
    }

    private void checkVocabulary(int[] tokens, String what) {
        int vocab = config.vocabSize();
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocab) {
                throw new IllegalArgumentException(what + " " + tokens[i] + " at " + (what.startsWith("prompt")
                        ? "position " : "") + i + " is outside the vocabulary of " + vocab);
            }
        }
    }

    private static void checkFinite(float[] logits, int position) {
        for (float v : logits) {
            if (Float.isNaN(v)) {
                throw new IllegalStateException("the model produced NaN logits at position " + position);
            }
        }
    }

    @Override
    public void close() {
        if (phaseProfile != null) phaseProfile.close();
        if (energyMeter != null) energyMeter.close();
        if (gpuWeights != null) gpuWeights.close();
        if (ownsModel) model.close();
        if (ownsBackend) backend.close();
    }
}
