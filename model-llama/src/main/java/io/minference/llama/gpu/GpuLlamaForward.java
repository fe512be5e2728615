package io.minference.llama.gpu;

import static io.minference.llama.gpu.GpuActivations.firstRows;
import static io.minference.llama.gpu.GpuActivations.row;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.DevicePromptAttention;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.flash.PhaseMarks;
import io.minference.kernels.transformer.Argmax;
import io.minference.kernels.transformer.EmbeddingGather;
import io.minference.kernels.transformer.RmsNormToBf16;
import io.minference.kernels.transformer.RopeKvWrite;
import io.minference.kernels.transformer.SwiGlu;
import io.minference.kernels.transformer.TopPSample;
import io.minference.config.KvCacheType;
import io.minference.config.KvOffload;
import io.minference.llama.LlamaConfig;
import io.minference.llama.forward.ForwardPass;
import io.minference.llama.forward.PrefillChunks;
import io.minference.runtime.DType;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.CublasLtGemm;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaGraph;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceTensor;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;

/**
 * One sequence's pass through the transformer on a CUDA device: the function of
 * {@link io.minference.llama.forward.LlamaForward}, with bf16 weights and GEMM inputs.
 *
 * <p>A chunk of tokens runs: embedding → per layer: RMSNorm to bf16 → fused QKV GEMM → RoPE and the KV-cache write
 * → flash attention → output GEMM accumulated into the f32 residual stream → feed-forward RMSNorm → fused gate/up GEMM
 * → SwiGLU → down GEMM accumulated into the residual stream → and after the last layer the final RMSNorm of the last
 * position only and the classifier GEMM into f32 logits, copied to the host. The residual adds are cuBLASLt's beta = 1
 * epilogue ({@link CublasLtGemm#multiplyAccumulate}): the stream stays f32 and each add rounds once, as a separate add
 * kernel would, but without that kernel's pass over the stream and without an f32 GEMM output in between.
 * A prompt goes through in chunks of at most {@code chunkSize} tokens, so that the activations of a long prompt
 * stay small next to the KV cache. All work is queued on the backend's stream.
 *
 * <p>A decode step reads its token, position and cache length from a small device buffer that an asynchronous copy
 * from pinned host memory fills before the step, so the step's launches never change: with decode graphs on (the
 * default) the first step captures them into a CUDA graph, and every step replays it with one launch. With them
 * off the same launches are queued one by one (eager), which gives the same logits bit for bit. The next token can
 * be chosen on the device too ({@link #decodeArgmax}, {@link #decodeSample}), so that only its id crosses back.
 *
 * <p>{@link #prefill(int[], ProgressListener, DevicePromptAttention)} runs a prompt layer-major instead, for
 * attention that must see each layer's prompt whole (sparse prefill).
 *
 * <p>With the KV cache offloaded to pinned host memory ({@link KvOffload#HOST}, {@link OffloadedGpuKvCache}) a
 * prompt always runs layer-major, and decode steps run eagerly even with decode graphs on: the copies that bring
 * each layer's cache back grow with the position, which a captured graph would fix at its first size.
 */
public final class GpuLlamaForward implements ForwardPass {
    /**
     * Prompt tokens per chunk, the M of every prefill GEMM: cuBLASLt runs the 8B layer's GEMMs faster at 8192 rows
     * than at 2048 (the linear part of a 128K prefill: 2.757 s against 2.834 s on an H200, BENCHMARKS.md), for about
     * 1 GB more of chunked activations at llama3-8b's size.
     */
    public static final int DEFAULT_CHUNK_SIZE = 8192;
    /** Rows whose vocabulary projection runs at once when several positions' logits are kept. */
    public static final int LOGIT_ROWS = 256;

    private final LlamaConfig config;
    private final GpuLlamaWeights weights;
    private final CudaStream stream;
    private final CublasLtGemm gemm;
    private final FlashAttention attention;
    private final GpuKvCache cache;
    private final GpuActivations buffers;
    private final EmbeddingGather embedding = new EmbeddingGather();
    private final RmsNormToBf16 norm = RmsNormToBf16.plain();
    private final RopeKvWrite rope;
    private final SwiGlu swiGlu = new SwiGlu();
    private final Argmax argmax = Argmax.wide();
    private final TopPSample sampler = new TopPSample();
    private final boolean decodeGraph;
    private final DecodeStep step;
    private CudaGraph recordedStep;
    private int position;
    private KernelMarks marks = KernelMarks.NONE;
    /** Set while {@link #profileDecodeStep} queues its step: the kinds of its launches are marked on it. */
    private EventTimeline<DecodeKind> decodeTimeline;

    public GpuLlamaForward(GpuLlamaWeights weights, CudaBackend backend, int capacity) {
        this(weights, backend, capacity, DEFAULT_CHUNK_SIZE);
    }

    /**
     * @param capacity  positions this sequence may hold, at most the model's context
     * @param chunkSize prompt tokens per chunk
     */
    public GpuLlamaForward(GpuLlamaWeights weights, CudaBackend backend, int capacity, int chunkSize) {
        this(weights, backend, capacity, chunkSize, true);
    }

    /**
     * @param capacity    positions this sequence may hold, at most the model's context
     * @param chunkSize   prompt tokens per chunk
     * @param decodeGraph whether decode steps replay a CUDA graph (true) or queue their launches one by one
     */
    public GpuLlamaForward(GpuLlamaWeights weights, CudaBackend backend, int capacity, int chunkSize,
                           boolean decodeGraph) {
        this(weights, backend, capacity, chunkSize, decodeGraph, KvCacheType.BF16);
    }

    /**
     * As below, every layer's KV cache on the device.
     */
    public GpuLlamaForward(GpuLlamaWeights weights, CudaBackend backend, int capacity, int chunkSize,
                           boolean decodeGraph, KvCacheType kvCache) {
        this(weights, backend, capacity, chunkSize, decodeGraph, kvCache, KvOffload.NONE);
    }

    /**
     * @param capacity    positions this sequence may hold, at most the model's context
     * @param chunkSize   prompt tokens per chunk
     * @param decodeGraph whether decode steps replay a CUDA graph (true) or queue their launches one by one
     * @param kvCache     the KV cache's format; with an 8-bit one (fp8 or int8) a prompt always runs layer-major
     *                    (its attention reading bf16 whole-prompt buffers of one layer at a time) and only decode
     *                    reads the codes
     * @param kvOffload   where the layers' KV cache lives between their uses: on the device, or in pinned host
     *                    memory with two device slots (then decode steps run eagerly, never from a graph)
     */
    public GpuLlamaForward(GpuLlamaWeights weights, CudaBackend backend, int capacity, int chunkSize,
                           boolean decodeGraph, KvCacheType kvCache, KvOffload kvOffload) {
        LlamaConfig c = weights.config();
        if (capacity < 1 || capacity > c.contextLength()) {
            throw new IllegalArgumentException("capacity must be between 1 and the context length "
                    + c.contextLength() + ", got " + capacity);
        }
        if (chunkSize < 1) throw new IllegalArgumentException("chunk size must be positive, got " + chunkSize);
        this.config = c;
        this.weights = weights;
        this.stream = backend.stream();
        this.gemm = backend.gemm();
        this.rope = new RopeKvWrite(c.numHeads(), c.numKvHeads(), c.headDim());
        this.attention = new FlashAttention(backend.context(),
                new AttentionShape(c.numHeads(), c.numKvHeads(), c.headDim()));
        GpuKvCache madeCache = null;
        DecodeStep madeStep = null;
        try {
            attention.reserveDecode(capacity);
            madeCache = GpuKvCache.allocate(backend.context(), c, capacity, kvCache, kvOffload);
            madeStep = DecodeStep.allocate(backend.context(), c.vocabSize());
            this.buffers = GpuActivations.allocate(backend.context(), c, weights.paddedHidden(),
                    Math.min(chunkSize, capacity));
        } catch (RuntimeException e) {
            if (madeStep != null) madeStep.close();
            if (madeCache != null) madeCache.close();
            attention.close();
            throw e;
        }
        this.cache = madeCache;
        this.step = madeStep;
        this.decodeGraph = decodeGraph && madeCache.replayable();
    }

    /**
     * Marks the phases of prefills on the stream from now on (linear layers, attention and, inside a layer-major
     * prefill's, a sparse attention's estimation and index, KV store, other), and each kernel outside attention
     * ({@link LinearKernel}), for a timing breakdown. For prefills only: set {@link KernelMarks#NONE} back before
     * decode steps, whose launches the first step captures into a CUDA graph.
     */
    public void markPhases(KernelMarks marks) {
        this.marks = marks;
    }

    /** The KV cache's format. */
    public KvCacheType kvCacheType() {
        return cache.type();
    }

    /** Whether the KV cache lives in pinned host memory between its layers' uses. */
    public boolean offloadsKvCache() {
        return cache instanceof OffloadedGpuKvCache;
    }

    /** Whether decode steps replay a CUDA graph (never with the KV cache offloaded). */
    public boolean usesDecodeGraph() {
        return decodeGraph;
    }

    /** Positions processed so far: the next token goes to this position. */
    public int position() {
        return position;
    }

    public int capacity() {
        return cache.capacity();
    }

    /** As {@link #prefill(int[], ProgressListener, int)}, keeping the last position's logits only. */
    public float[] prefill(int[] tokens, ProgressListener progress) {
        return prefill(tokens, progress, 1)[0];
    }

    /**
     * Runs {@code tokens} from the current position in chunks and returns the logits of the last
     * {@code logitsToKeep} tokens (row i predicts the token after {@code tokens[length - logitsToKeep + i]}).
     * Reports ("prefill", tokens done, tokens in all) after every chunk. The last position's logits also stay in
     * the device buffer that {@link #argmaxOfLogits} and {@link #sampleOfLogits} read.
     */
    public float[][] prefill(int[] tokens, ProgressListener progress, int logitsToKeep) {
        if (!(cache instanceof Bf16GpuKvCache)) {
            // Decode alone reads 8-bit codes: a prompt's attention must see bf16 keys, which only the layer-major walk
            // keeps. An offloaded cache holds two layers on the device, which only the layer-major walk can live with.
            if (position != 0) {
                String kind = offloadsKvCache() ? "offloaded" : "8-bit (" + kvCacheType().label() + ")";
                throw new IllegalStateException("with an " + kind
                        + " KV cache a prompt is prefilled once, from position 0; later tokens go through decode"
                        + " steps");
            }
            try (DevicePromptAttention dense = DevicePromptAttention.dense(attention)) {
                return prefill(tokens, progress, dense, logitsToKeep);
            }
        }
        requireRoom(tokens.length);
        return PrefillChunks.runKeepingLast(tokens.length, buffers.rows(), logitsToKeep, progress,
                (from, count) -> forwardChunk(tokens, from, count),
                (first, count, kept, at) -> keepLogits(buffers.x(), first, count, kept, at));
    }

    /** As {@link #prefill(int[], ProgressListener, DevicePromptAttention, int)}, keeping the last logits only. */
    public float[] prefill(int[] tokens, ProgressListener progress, DevicePromptAttention attention) {
        return prefill(tokens, progress, attention, 1)[0];
    }

    /**
     * Runs a whole prompt from position 0 layer-major, with {@code attention} seeing each layer's prompt whole (a
     * sparse prefill), and returns the logits of the last {@code logitsToKeep} tokens. Reports ("prefill", tokens
     * done, tokens in all) after every layer.
     */
    public float[][] prefill(int[] tokens, ProgressListener progress, DevicePromptAttention attention,
                             int logitsToKeep) {
        PrefillChunks.requireStart(position);
        if (tokens.length == 0) throw new IllegalArgumentException("nothing to prefill: no tokens");
        requireRoom(tokens.length);
        PrefillChunks.requireKeep(logitsToKeep, tokens.length);
        checkVocabulary(tokens, 0, tokens.length);
        int length = tokens.length;
        int rows = buffers.rows();
        int queryDim = config.numHeads() * config.headDim();
        GpuActivations a = buffers;
        progress.progress("prefill", 0, length);
        cache.openPrompt(length);
        attention.markPhases(marks);
        marks.mark(stream, PhaseMarks.Phase.OTHER);
        try (DeviceTensor x = DeviceTensor.allocate(stream.context(), DType.F32, length, config.dim());
             DeviceTensor queries = DeviceTensor.allocate(stream.context(), DType.BF16, length, queryDim);
             DeviceTensor attended = DeviceTensor.allocate(stream.context(), DType.BF16, length, queryDim)) {
            PrefillChunks.forEach(length, rows, (from, count) -> {
                uploadIds(tokens, from, count);
                marks.markKernel(stream, LinearKernel.EMBEDDING);
                embedding.launch(stream, weights.tokenEmbedding(), a.ids(), rows(x, from, count), count);
            });
            for (int l = 0; l < config.numLayers(); l++) {
                GpuLayerWeights w = weights.layers().get(l);
                cache.beginPromptLayer(stream, l);
                DeviceTensor keys = cache.promptKeys(l), values = cache.promptValues(l);
                marks.mark(stream, PhaseMarks.Phase.LINEAR);
                PrefillChunks.forEach(length, rows, (from, count) -> {
                    projectQkv(w, rows(x, from, count), count);
                    marks.markKernel(stream, LinearKernel.ROPE_KV_WRITE);
                    rope.launch(stream, a.qkv(), rows(queries, from, count), keys, values, weights.ropeFrequencies(),
                            from, count);
                });
                marks.mark(stream, PhaseMarks.Phase.ATTENTION);
                attention.attend(stream, l, queries, keys, values, attended, length);
                marks.mark(stream, PhaseMarks.Phase.KV_STORE);
                cache.storePrompt(stream, l, length);
                marks.mark(stream, PhaseMarks.Phase.LINEAR);
                PrefillChunks.forEach(length, rows,
                        (from, count) -> finishLayer(w, rows(attended, from, count), rows(x, from, count), count));
                progress.progress("prefill", (long) length * (l + 1) / config.numLayers(), length);
            }
            position = length;
            marks.mark(stream, PhaseMarks.Phase.OTHER);
            float[][] kept = new float[logitsToKeep][];
            keepLogits(x, length - logitsToKeep, logitsToKeep, kept, 0);
            return kept;
        } finally {
            stream.synchronize();
            cache.closePrompt();
        }
    }

    /**
     * The layer's first half: RMSNorm of the residual rows {@code x} to bf16, then the fused QKV GEMM into
     * {@code qkv}. RoPE and the cache write follow, with the position where the caller keeps it.
     */
    private void projectQkv(GpuLayerWeights w, DeviceTensor x, int count) {
        GpuActivations a = buffers;
        markDecode(DecodeKind.NORMS);
        marks.markKernel(stream, LinearKernel.NORM);
        norm.launch(stream, x, w.attentionNorm(), a.normed(), count, config.rmsEps());
        markDecode(DecodeKind.QKV_GEMV);
        marks.markKernel(stream, LinearKernel.QKV_GEMM);
        gemm.multiply(firstRows(a.normed(), count), w.wqkv(), firstRows(a.qkv(), count), stream);
    }

    /**
     * The layer's second half: the output GEMM of the attention rows added into the residual rows {@code x}, the
     * feed-forward RMSNorm, and the MLP, whose down GEMM adds into {@code x} too.
     */
    private void finishLayer(GpuLayerWeights w, DeviceTensor attended, DeviceTensor x, int count) {
        GpuActivations a = buffers;
        markDecode(DecodeKind.O_GEMV);
        marks.markKernel(stream, LinearKernel.OUTPUT_GEMM);
        gemm.multiplyAccumulate(firstRows(attended, count), w.wo(), x, stream);
        markDecode(DecodeKind.NORMS);
        marks.markKernel(stream, LinearKernel.NORM);
        norm.launch(stream, x, w.ffnNorm(), a.normed(), count, config.rmsEps());
        markDecode(DecodeKind.GATE_UP_GEMV);
        marks.markKernel(stream, LinearKernel.GATE_UP_GEMM);
        gemm.multiply(firstRows(a.normed(), count), w.wGateUp(), firstRows(a.gateUp(), count), stream);
        markDecode(DecodeKind.SWIGLU);
        marks.markKernel(stream, LinearKernel.SWIGLU);
        swiGlu.launchFused(stream, a.gateUp(), a.hidden(), count, weights.paddedHidden());
        markDecode(DecodeKind.DOWN_GEMV);
        marks.markKernel(stream, LinearKernel.DOWN_GEMM);
        gemm.multiplyAccumulate(firstRows(a.hidden(), count), w.wDown(), x, stream);
    }

    /** RoPE, the cache write and attention of one layer in the token-major walk (a chunk, or a decode step). */
    private interface LayerAttention {
        void run(int layer);
    }

    /**
     * Every layer of {@code count} tokens whose embeddings are in {@code x}, token-major: the recipe shared by a
     * prompt chunk and a decode step, which differ only in how they place RoPE and attend.
     */
    private void enqueueLayers(int count, LayerAttention attend) {
        GpuActivations a = buffers;
        marks.mark(stream, PhaseMarks.Phase.LINEAR);
        for (int l = 0; l < config.numLayers(); l++) {
            GpuLayerWeights w = weights.layers().get(l);
            projectQkv(w, firstRows(a.x(), count), count);
            attend.run(l);
            finishLayer(w, a.attention(), firstRows(a.x(), count), count);
        }
    }

    /** Runs one token at the current position and returns the logits that predict the next. */
    public float[] decode(int token) {
        runDecodeStep(token);
        return download(buffers.logits(), 1)[0];
    }

    /**
     * Runs one token at the current position and returns the greedy choice of the next, computed on the device:
     * only the token id crosses to the host.
     */
    public int decodeArgmax(int token) {
        runDecodeStep(token);
        return argmaxOfLogits();
    }

    /** The greedy choice from the logits of the last prefill or decode step, computed on the device. */
    public int argmaxOfLogits() {
        argmax.launch(stream, buffers.logits(), step.chosen(), 1, config.vocabSize());
        int token = step.readChosen(stream);
        if (token < 0) throw new IllegalStateException("every logit is NaN: no token to choose");
        return token;
    }

    /**
     * Runs one token at the current position and samples the next on the device from softmax(logits /
     * temperature) within the top-p nucleus, with the uniform number {@code u} in [0, 1) from the host's seeded
     * generator: the token {@link io.minference.kernels.transformer.CpuTopPSample} picks for the same u.
     */
    public int decodeSample(int token, float temperature, float topP, double u) {
        runDecodeStep(token);
        return sampleOfLogits(temperature, topP, u);
    }

    /** Temperature and top-p sampling, on the device, from the logits of the last prefill or decode step. */
    public int sampleOfLogits(float temperature, float topP, double u) {
        sampler.launch(stream, buffers.logits(), step.sampleKeys(), step.chosen(), config.vocabSize(), temperature,
                topP, u);
        int token = step.readChosen(stream);
        if (token < 0) throw new IllegalStateException("no finite logits: no token to sample");
        return token;
    }

    /** Queues one decode step (by graph replay or eagerly) whose logits land in the logits buffer. */
    private void runDecodeStep(int token) {
        requireRoom(1);
        checkVocabulary(new int[] {token}, 0, 1);
        step.set(stream, token, position);
        cache.beginStep(stream, position);
        if (!decodeGraph) {
            enqueueDecodeStep();
        } else {
            if (recordedStep == null) {
                // The first step runs eagerly once: it loads every module and makes every GEMM plan outside the
                // capture. A step only depends on its token, position and the cache rows before it, so replaying
                // it right after recomputes the same values.
                enqueueDecodeStep();
                recordedStep = stream.capture(this::enqueueDecodeStep);
            }
            recordedStep.launch(stream);
        }
        position++;
    }

    /** The launches of one decode step, every per-step value read from the step buffer. */
    private void enqueueDecodeStep() {
        GpuActivations a = buffers;
        markDecode(DecodeKind.EMBEDDING);
        embedding.launch(stream, weights.tokenEmbedding(), step.token(), a.x(), 1);
        enqueueLayers(1, layer -> {
            markDecode(DecodeKind.ROPE_KV_WRITE);
            cache.writeStep(stream, layer, a.qkv(), a.q(), weights.ropeFrequencies(), step.position());
            markDecode(DecodeKind.ATTENTION);
            cache.attendStep(stream, attention, layer, a.q(), a.attention(), step.length());
        });
        enqueueLogits(row(a.x(), 0), buffers.logits(), 1);
    }

    /**
     * Runs one token at the current position like {@link #decodeArgmax}, but with its launches queued one by one
     * between CUDA events at every change of {@link DecodeKind}, and returns where its device time went beside the
     * bytes each kind must read. For benchmarks: the events and the eager launches make the step slower than a
     * replayed graph, and the gaps between launches count to the kind before them.
     */
    public DecodeBreakdown profileDecodeStep(int token) {
        requireRoom(1);
        checkVocabulary(new int[] {token}, 0, 1);
        int length = position + 1;
        step.set(stream, token, position);
        cache.beginStep(stream, position);
        EventTimeline<DecodeKind> timeline = new EventTimeline<>(stream.context(), DecodeKind.class);
        try {
            decodeTimeline = timeline;
            attention.markDecode((s, phase) -> markDecode(phase == PhaseMarks.Phase.COMBINE ? DecodeKind.COMBINE
                    : DecodeKind.ATTENTION));
            enqueueDecodeStep();
            Map<DecodeKind, Double> millis = timeline.finish(stream, DecodeKind.LM_HEAD);
            position++;
            return new DecodeBreakdown(argmaxOfLogits(), millis, decodeReadBytes(length));
        } finally {
            decodeTimeline = null;
            attention.markDecode(PhaseMarks.NONE);
            timeline.close();
        }
    }

    /** The bytes each kind of a decode step over {@code length} cached positions reads at least. */
    private Map<DecodeKind, Long> decodeReadBytes(int length) {
        Map<DecodeKind, Long> bytes = new EnumMap<>(DecodeKind.class);
        for (DecodeKind kind : DecodeKind.values()) bytes.put(kind, 0L);
        for (GpuLayerWeights w : weights.layers()) {
            bytes.merge(DecodeKind.QKV_GEMV, w.wqkv().byteSize(), Long::sum);
            bytes.merge(DecodeKind.O_GEMV, w.wo().byteSize(), Long::sum);
            bytes.merge(DecodeKind.GATE_UP_GEMV, w.wGateUp().byteSize(), Long::sum);
            bytes.merge(DecodeKind.DOWN_GEMV, w.wDown().byteSize(), Long::sum);
        }
        bytes.put(DecodeKind.LM_HEAD, weights.classifier().byteSize());
        bytes.put(DecodeKind.ATTENTION, GpuKvCache.bytes(config, length, cache.type()));
        return bytes;
    }

    private void markDecode(DecodeKind kind) {
        if (decodeTimeline != null) decodeTimeline.mark(stream, kind);
    }

    private void forwardChunk(int[] tokens, int from, int count) {
        checkVocabulary(tokens, from, count);
        Bf16GpuKvCache bf16 = (Bf16GpuKvCache) cache;
        GpuActivations a = buffers;
        int start = position;
        uploadIds(tokens, from, count);
        marks.markKernel(stream, LinearKernel.EMBEDDING);
        embedding.launch(stream, weights.tokenEmbedding(), a.ids(), a.x(), count);
        enqueueLayers(count, layer -> {
            DeviceTensor keys = bf16.keys(layer), values = bf16.values(layer);
            marks.markKernel(stream, LinearKernel.ROPE_KV_WRITE);
            rope.launch(stream, a.qkv(), a.q(), keys, values, weights.ropeFrequencies(), start, count);
            marks.mark(stream, PhaseMarks.Phase.ATTENTION);
            attention.prefill(stream, a.q(), keys, values, a.attention(), count, start);
            marks.mark(stream, PhaseMarks.Phase.LINEAR);
        });
        position = start + count;
    }

    /**
     * Waits for queued work that still reads the ids buffer, then copies the chunk's ids in. The wait opens an
     * interval of phase "other" first, so that the device's idle time counts to no kernel.
     */
    private void uploadIds(int[] tokens, int from, int count) {
        marks.mark(stream, PhaseMarks.Phase.OTHER);
        stream.synchronize();
        try (Tensor ids = Tensor.allocate(DType.I32, count)) {
            for (int i = 0; i < count; i++) ids.data().setAtIndex(ValueLayout.JAVA_INT, i, tokens[from + i]);
            buffers.ids().view(0, count).copyFrom(ids);
        }
    }

    private void checkVocabulary(int[] tokens, int from, int count) {
        for (int i = from; i < from + count; i++) {
            if (tokens[i] < 0 || tokens[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("token " + tokens[i] + " at index " + i
                        + " is outside the vocabulary of " + config.vocabSize());
            }
        }
    }

    /**
     * Final RMSNorm and classifier of {@code count} residual rows of {@code hidden} from row {@code first}, copied
     * to the host into {@code kept[at...]}, at most {@link #LOGIT_ROWS} rows at a time. A single row goes through
     * the logits buffer that the device-side token choice reads.
     */
    private void keepLogits(DeviceTensor hidden, int first, int count, float[][] kept, int at) {
        int step = Math.min(LOGIT_ROWS, buffers.rows());
        for (int done = 0; done < count; done += step) {
            int n = Math.min(step, count - done);
            DeviceTensor rowsHidden = rows(hidden, first + done, n);
            if (n == 1) {
                enqueueLogits(rowsHidden, buffers.logits(), 1);
                kept[at + done] = download(buffers.logits(), 1)[0];
            } else {
                try (DeviceTensor logits = DeviceTensor.allocate(stream.context(), DType.F32, n,
                        config.vocabSize())) {
                    enqueueLogits(rowsHidden, logits, n);
                    float[][] rowsLogits = download(logits, n);
                    System.arraycopy(rowsLogits, 0, kept, at + done, n);
                }
                // The sequence's last position also goes to the buffer that the device-side choice reads.
                if (at + done + n == kept.length) {
                    enqueueLogits(rows(hidden, first + done + n - 1, 1), buffers.logits(), 1);
                }
            }
        }
    }

    /** Waits for the stream, then copies {@code rows} rows of f32 logits to the host. */
    private float[][] download(DeviceTensor logits, int rowCount) {
        marks.mark(stream, PhaseMarks.Phase.OTHER);
        stream.synchronize();
        int vocab = config.vocabSize();
        try (Tensor host = logits.download()) {
            float[] all = host.toFloatArray();
            float[][] out = new float[rowCount][];
            for (int r = 0; r < rowCount; r++) out[r] = Arrays.copyOfRange(all, r * vocab, (r + 1) * vocab);
            return out;
        }
    }

    /** Queues the final RMSNorm and classifier of {@code count} residual rows into {@code logits} ([count, vocab]). */
    private void enqueueLogits(DeviceTensor hidden, DeviceTensor logits, int count) {
        DeviceTensor normedRows = firstRows(buffers.normed(), count);
        markDecode(DecodeKind.NORMS);
        marks.mark(stream, PhaseMarks.Phase.OTHER);
        marks.markKernel(stream, LinearKernel.LM_HEAD);
        norm.launch(stream, hidden, weights.outputNorm(), normedRows, count, config.rmsEps());
        markDecode(DecodeKind.LM_HEAD);
        gemm.multiply(normedRows, weights.classifier(), logits, stream);
    }

    /** Rows {@code [from, from + count)} of a [rows, width] buffer as a [count, width] matrix. */
    private static DeviceTensor rows(DeviceTensor t, int from, int count) {
        return t.view((long) from * t.dim(1), count, t.dim(1));
    }

    private void requireRoom(int tokens) {
        PrefillChunks.requireRoom(position, tokens, cache.capacity());
    }

    @Override
    public void close() {
        if (recordedStep != null) recordedStep.close();
        step.close();
        buffers.close();
        cache.close();
        attention.close();
    }
}
