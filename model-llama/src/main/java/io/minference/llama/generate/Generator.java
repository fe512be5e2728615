package io.minference.llama.generate;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.attention.CausalAttention;
import io.minference.kernels.flash.DevicePromptAttention;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.forward.LlamaForward;
import io.minference.llama.gpu.GpuLlamaForward;
import io.minference.llama.gpu.GpuLlamaWeights;
import io.minference.config.KvCacheType;
import io.minference.llama.gpu.GpuMemoryPlan;
import io.minference.llama.sampling.GreedySampler;
import io.minference.llama.sampling.RandomSampler;
import io.minference.llama.sampling.Sampler;
import io.minference.llama.tokenizer.Tokenizer;
import io.minference.runtime.Backend;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.sparse.SparsePrefills;
import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Prefills a prompt, then samples tokens until a stop token, the token limit or the end of the context. Each call to
 * {@link #generate} is an independent sequence with a KV cache sized to it. The backend stays the caller's to close.
 * On a {@link CudaBackend} the weights are uploaded once, at construction, and freed by {@link #close}; the prompt
 * then goes through in chunks of {@link GpuLlamaForward#DEFAULT_CHUNK_SIZE} with dense attention.
 *
 * <p>With a {@link SparsePrefill}, prompts of at least its threshold go through the layer-major prefill with a sparse
 * attention that follows its plan ({@link SparsePrefills#cpu} or {@link SparsePrefills#gpu}); shorter prompts and
 * decode steps stay dense. {@link GenerationResult#attention()} says which path ran.
 */
public final class Generator implements AutoCloseable {
    private KvCacheType kvCache = KvCacheType.BF16;
    private final LlamaModel model;
    private final CpuBackend backend;
    private final CudaBackend cuda;
    private final GpuLlamaWeights gpuWeights;
    private final CausalAttention prefillAttention;
    private final int blockSize;
    private final SparsePrefill sparse;

    public Generator(LlamaModel model, Backend backend) {
        this(model, backend, null, LlamaForward.DEFAULT_BLOCK_SIZE);
    }

    public Generator(LlamaModel model, Backend backend, CausalAttention prefillAttention, int blockSize) {
        this(model, backend, prefillAttention, blockSize, null);
    }

    /**
     * @param prefillAttention attention for the prompt's blocks (a sparse prefill, say), or null for dense
     * @param blockSize        prompt tokens per block
     * @param sparse           the sparse prefill of long prompts, or null for dense; its plan is checked against
     *                         the model here, before any work
     */
    public Generator(LlamaModel model, Backend backend, CausalAttention prefillAttention, int blockSize,
                     SparsePrefill sparse) {
        if (blockSize < 1) throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        if (sparse != null) {
            sparse.plan().requireShape(model.config().numLayers(), model.config().numHeads(), sparse.source());
        }
        switch (backend) {
            case CpuBackend cpu -> {
                this.backend = cpu;
                this.cuda = null;
                this.gpuWeights = null;
            }
            case CudaBackend gpu -> {
                if (prefillAttention != null) {
                    throw new IllegalArgumentException("the cuda backend runs dense attention only; a sparse prefill"
                            + " attention runs on the cpu backend");
                }
                this.backend = null;
                this.cuda = gpu;
                GpuMemoryPlan.of(model.config(), model.weights().sharedClassifier(), 1, 1, 0)
                        .requireFits(gpu.context().memoryInfo().freeBytes(), "the weights of " + model.source());
                this.gpuWeights = GpuLlamaWeights.upload(gpu.context(), model);
            }
            case null, default -> throw new IllegalArgumentException("the forward pass runs on the cpu or cuda"
                    + " backend, not on " + (backend == null ? "null" : backend.name()));
        }
        this.model = model;
        this.prefillAttention = prefillAttention;
        this.blockSize = blockSize;
        this.sparse = sparse;
    }

    /**
     * @param prompt    prompt ids, BOS included where wanted; a prompt that does not fit the context is refused
     *                  with an IllegalArgumentException naming both lengths
     * @param maxTokens generated tokens at most, the prompt excluded
     * @param onToken   receives each generated id as soon as it is sampled (stop tokens are not passed on)
     * @param progress  prefill progress, in tokens
     */
    public GenerationResult generate(int[] prompt, int maxTokens, SamplingOptions sampling, IntConsumer onToken,
                                     ProgressListener progress) {
        LlamaConfig config = model.config();
        checkPrompt(prompt, config);
        if (maxTokens < 0) throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
        Sampler sampler = Sampler.of(sampling == null ? SamplingOptions.GREEDY : sampling);
        IntConsumer sink = onToken == null ? token -> { } : onToken;
        Tokenizer tokenizer = model.tokenizer();

        int capacity = (int) Math.min(config.contextLength(), (long) prompt.length + maxTokens);
        capacity = Math.max(capacity, prompt.length);
        int[] generated = new int[capacity - prompt.length];
        int count = 0;
        String stopReason;
        long prefillNanos;
        long decodeStart;
        boolean sparsePath = sparse != null && sparse.appliesTo(prompt.length);
        try (SequenceForward forward = open(capacity, sampler)) {
            long start = System.nanoTime();
            int token = forward.prefill(prompt, progress == null ? ProgressListener.NONE : progress, sparsePath);
            decodeStart = System.nanoTime();
            prefillNanos = decodeStart - start;
            while (true) {
                if (count == maxTokens) {
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
                sink.accept(token);
                // The last token allowed needs no forward pass: nothing will be sampled after it.
                if (count == maxTokens || prompt.length + count == config.contextLength()) continue;
                token = forward.decode(token);
            }
        }
        long decodeNanos = System.nanoTime() - decodeStart;
        return new GenerationResult(Arrays.copyOf(generated, count), prompt.length, prefillNanos, decodeNanos,
                stopReason, sparsePath ? sparse.mode() : GenerationResult.DENSE);
    }

    /**
     * Scores a text's continuation: prefills {@code context} (sparse when this generator's sparse prefill applies to
     * its length), then feeds {@code continuation} one token at a time (dense decode, teacher forcing), summing the
     * negative log-likelihood of each continuation token under the logits before it.
     */
    public ScoreResult score(int[] context, int[] continuation, ProgressListener progress) {
        LlamaConfig config = model.config();
        checkPrompt(context, config);
        if (continuation.length == 0) throw new IllegalArgumentException("nothing to score: the continuation is empty");
        long total = (long) context.length + continuation.length - 1;
        if (total > config.contextLength()) {
            throw new IllegalArgumentException("context of " + context.length + " tokens plus " + continuation.length
                    + " scored tokens does not fit the model's context of " + config.contextLength() + " tokens");
        }
        for (int i = 0; i < continuation.length; i++) {
            if (continuation[i] < 0 || continuation[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("continuation token " + continuation[i] + " at " + i
                        + " is outside the vocabulary of " + config.vocabSize());
            }
        }
        boolean sparsePath = sparse != null && sparse.appliesTo(context.length);
        // Teacher forcing through the sampler slot: it scores the logits and answers the text's own next token.
        double[] nll = new double[1];
        int[] next = new int[1];
        Sampler scorer = logits -> {
            int token = continuation[next[0]++];
            nll[0] -= logSoftmax(logits, token);
            return token;
        };
        long prefillNanos;
        try (SequenceForward forward = open((int) Math.max(total, context.length), scorer)) {
            long start = System.nanoTime();
            int token = forward.prefill(context, progress == null ? ProgressListener.NONE : progress, sparsePath);
            prefillNanos = System.nanoTime() - start;
            while (next[0] < continuation.length) token = forward.decode(token);
        }
        return new ScoreResult(nll[0], continuation.length, context.length, prefillNanos,
                sparsePath ? sparse.mode() : GenerationResult.DENSE);
    }

    /** log softmax(logits)[token], in double. */
    static double logSoftmax(float[] logits, int token) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) max = Math.max(max, v);
        double sum = 0;
        for (float v : logits) sum += Math.exp(v - max);
        return logits[token] - max - Math.log(sum);
    }

    /** The CPU or the GPU forward pass of one sequence, each call returning the sampler's choice of next token. */
    private interface SequenceForward extends AutoCloseable {
        /** With {@code sparse}, the prompt goes through the layer-major prefill and the sparse plan. */
        int prefill(int[] tokens, ProgressListener progress, boolean sparse);

        int decode(int token);

        @Override
        void close();
    }

    /**
     * Keeps the KV cache of the sequences this generator opens in {@code type} (bf16 by default; with FP8 only
     * decode reads FP8). Returns this generator.
     */
    public Generator kvCache(KvCacheType type) {
        this.kvCache = type;
        return this;
    }

    private SequenceForward open(int capacity, Sampler sampler) {
        if (cuda != null) {
            LlamaConfig config = model.config();
            GpuMemoryPlan.of(config, gpuWeights.sharedClassifier(), capacity, 0, GpuLlamaForward.DEFAULT_CHUNK_SIZE,
                    kvCache, sparse != null && sparse.appliesTo(capacity)).requireSequenceFits(
                    cuda.context().memoryInfo().freeBytes(), "a sequence of " + capacity + " tokens");
            GpuLlamaForward gpu = new GpuLlamaForward(gpuWeights, cuda, capacity, GpuLlamaForward.DEFAULT_CHUNK_SIZE,
                    true, kvCache);
            // Tokens are picked on the device, so that only their ids cross to the host; a random sampler gives its
            // next uniform number, for which the device picks the token that the sampler itself would. Any other
            // sampler (scoring's teacher forcing) reads the logits on the host.
            return new SequenceForward() {
                public int prefill(int[] tokens, ProgressListener progress, boolean sparsePath) {
                    float[] logits;
                    if (!sparsePath) {
                        logits = gpu.prefill(tokens, progress);
                    } else {
                        try (DevicePromptAttention attention = SparsePrefills.gpu(sparse.plan(), cuda.context(),
                                shape())) {
                            logits = gpu.prefill(tokens, progress, attention);
                        }
                    }
                    return switch (sampler) {
                        case GreedySampler greedy -> gpu.argmaxOfLogits();
                        case RandomSampler random -> gpu.sampleOfLogits(random.temperature(), random.topP(),
                                random.nextUniform());
                        default -> sample(sampler, logits, gpu.position());
                    };
                }

                public int decode(int token) {
                    return switch (sampler) {
                        case GreedySampler greedy -> gpu.decodeArgmax(token);
                        case RandomSampler random -> gpu.decodeSample(token, random.temperature(), random.topP(),
                                random.nextUniform());
                        default -> sample(sampler, gpu.decode(token), gpu.position());
                    };
                }

                public void close() {
                    gpu.close();
                }
            };
        }
        LlamaForward cpu = new LlamaForward(model.config(), model.weights(), backend, prefillAttention, capacity,
                blockSize);
        if (kvCache == KvCacheType.FP8) cpu.useFp8KvCache();
        return new SequenceForward() {
            public int prefill(int[] tokens, ProgressListener progress, boolean sparsePath) {
                float[] logits = sparsePath ? cpu.prefill(tokens, progress, SparsePrefills.cpu(sparse.plan(), backend))
                        : cpu.prefill(tokens, progress);
                return sample(sampler, logits, cpu.position());
            }

            public int decode(int token) {
                return sample(sampler, cpu.decode(token), cpu.position());
            }

            public void close() {
                cpu.close();
            }
        };
    }

    private static int sample(Sampler sampler, float[] logits, int position) {
        checkFinite(logits, position);
        return sampler.sample(logits);
    }

    private AttentionShape shape() {
        LlamaConfig c = model.config();
        return new AttentionShape(c.numHeads(), c.numKvHeads(), c.headDim());
    }

    private static void checkPrompt(int[] prompt, LlamaConfig config) {
        if (prompt == null || prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty: at least one token (BOS, for instance) is needed");
        }
        if (prompt.length > config.contextLength()) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens does not fit the model's context of "
                    + config.contextLength() + " tokens");
        }
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("prompt token " + prompt[i] + " at position " + i
                        + " is outside the vocabulary of " + config.vocabSize());
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
        if (gpuWeights != null) gpuWeights.close();
    }
}
