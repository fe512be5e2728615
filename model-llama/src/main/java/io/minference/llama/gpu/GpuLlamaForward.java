package io.minference.llama.gpu;

import static io.minference.llama.gpu.GpuActivations.firstRows;
import static io.minference.llama.gpu.GpuActivations.row;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.transformer.EmbeddingGather;
import io.minference.kernels.transformer.ResidualAdd;
import io.minference.kernels.transformer.ResidualDelta;
import io.minference.kernels.transformer.RmsNormToBf16;
import io.minference.kernels.transformer.RopeKvWrite;
import io.minference.kernels.transformer.SwiGlu;
import io.minference.llama.LlamaConfig;
import io.minference.llama.forward.PrefillChunks;
import io.minference.runtime.DType;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.CublasLtGemm;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceTensor;
import java.lang.foreign.ValueLayout;

/**
 * One sequence's pass through the transformer on a CUDA device: the function of
 * {@link io.minference.llama.forward.LlamaForward}, with bf16 weights and GEMM inputs.
 *
 * <p>A chunk of tokens runs: embedding → per layer: RMSNorm to bf16 (with the previous layer's residual add fused
 * in) → fused QKV GEMM → RoPE and the KV-cache write → flash attention → output GEMM (f32) → residual add fused into
 * the feed-forward RMSNorm → fused gate/up GEMM → SwiGLU → down GEMM (f32) → and after the last layer the residual
 * add, the final RMSNorm of the last position only and the classifier GEMM into f32 logits, copied to the host.
 * A prompt goes through in chunks of at most {@code chunkSize} tokens, so that the activations of a long prompt
 * stay small next to the KV cache. All work is queued on the backend's stream.
 */
public final class GpuLlamaForward implements AutoCloseable {
    public static final int DEFAULT_CHUNK_SIZE = 2048;

    private final LlamaConfig config;
    private final GpuLlamaWeights weights;
    private final CudaStream stream;
    private final CublasLtGemm gemm;
    private final FlashAttention attention;
    private final GpuKvCache cache;
    private final GpuActivations buffers;
    private final EmbeddingGather embedding = new EmbeddingGather();
    private final RmsNormToBf16 norm = RmsNormToBf16.plain();
    private final RmsNormToBf16 normAfterAdd = RmsNormToBf16.afterResidualAdd(ResidualDelta.F32);
    private final ResidualAdd residualAdd = new ResidualAdd(ResidualDelta.F32);
    private final RopeKvWrite rope;
    private final SwiGlu swiGlu = new SwiGlu();
    private int position;

    public GpuLlamaForward(GpuLlamaWeights weights, CudaBackend backend, int capacity) {
        this(weights, backend, capacity, DEFAULT_CHUNK_SIZE);
    }

    /**
     * @param capacity  positions this sequence may hold, at most the model's context
     * @param chunkSize prompt tokens per chunk
     */
    public GpuLlamaForward(GpuLlamaWeights weights, CudaBackend backend, int capacity, int chunkSize) {
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
        this.cache = new GpuKvCache(backend.context(), c.numLayers(), capacity, c.kvDim());
        try {
            this.buffers = GpuActivations.allocate(backend.context(), c, weights.paddedHidden(),
                    Math.min(chunkSize, capacity));
        } catch (RuntimeException e) {
            cache.close();
            attention.close();
            throw e;
        }
    }

    /** Positions processed so far: the next token goes to this position. */
    public int position() {
        return position;
    }

    public int capacity() {
        return cache.capacity();
    }

    /**
     * Runs {@code tokens} from the current position in chunks and returns the logits of the last one.
     * Reports ("prefill", tokens done, tokens in all) after every chunk.
     */
    public float[] prefill(int[] tokens, ProgressListener progress) {
        requireRoom(tokens.length);
        int lastCount = PrefillChunks.run(tokens.length, buffers.rows(), progress,
                (from, count) -> forwardChunk(tokens, from, count, false));
        return logits(lastCount - 1);
    }

    /**
     * Runs a whole prompt from position 0 layer-major, with {@code attention} seeing each layer's prompt whole (a
     * sparse prefill), and returns the logits of the last token. Reports ("prefill", tokens done, tokens in all).
     */
    public float[] prefill(int[] tokens, ProgressListener progress,
                           io.minference.kernels.flash.DevicePromptAttention attention) {
        throw new UnsupportedOperationException("stub: graph helper");
    }

    /** Runs one token at the current position and returns the logits that predict the next. */
    public float[] decode(int token) {
        requireRoom(1);
        forwardChunk(new int[] {token}, 0, 1, true);
        return logits(0);
    }

    private void forwardChunk(int[] tokens, int from, int count, boolean decode) {
        for (int i = from; i < from + count; i++) {
            if (tokens[i] < 0 || tokens[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("token " + tokens[i] + " at index " + i
                        + " is outside the vocabulary of " + config.vocabSize());
            }
        }
        GpuActivations a = buffers;
        int start = position;
        uploadIds(tokens, from, count);
        DeviceTensor normed = firstRows(a.normed(), count);
        DeviceTensor qkv = firstRows(a.qkv(), count);
        DeviceTensor attended = firstRows(a.attention(), count);
        DeviceTensor projected = firstRows(a.projected(), count);
        DeviceTensor gateUp = firstRows(a.gateUp(), count);
        DeviceTensor hidden = firstRows(a.hidden(), count);
        float eps = config.rmsEps();

        embedding.launch(stream, weights.tokenEmbedding(), a.ids(), a.x(), count);
        for (int l = 0; l < config.numLayers(); l++) {
            GpuLayerWeights w = weights.layers().get(l);
            if (l == 0) {
                norm.launch(stream, a.x(), null, w.attentionNorm(), a.normed(), count, eps);
            } else {
                normAfterAdd.launch(stream, a.x(), a.projected(), w.attentionNorm(), a.normed(), count, eps);
            }
            gemm.multiply(normed, w.wqkv(), qkv, stream);
            DeviceTensor keys = cache.keys(l), values = cache.values(l);
            rope.launch(stream, a.qkv(), a.q(), keys, values, weights.ropeFrequencies(), start, count);
            if (decode) {
                attention.decode(stream, a.q(), keys, values, a.attention(), start + 1);
            } else {
                attention.prefill(stream, a.q(), keys, values, a.attention(), count, start);
            }
            gemm.multiply(attended, w.wo(), projected, stream);
            normAfterAdd.launch(stream, a.x(), a.projected(), w.ffnNorm(), a.normed(), count, eps);
            gemm.multiply(normed, w.wGateUp(), gateUp, stream);
            swiGlu.launchFused(stream, a.gateUp(), a.hidden(), count, weights.paddedHidden());
            gemm.multiply(hidden, w.wDown(), projected, stream);
        }
        residualAdd.launch(stream, a.x(), a.projected(), count, config.dim());
        position = start + count;
    }

    /** Waits for queued work that still reads the ids buffer, then copies the chunk's ids in. */
    private void uploadIds(int[] tokens, int from, int count) {
        stream.synchronize();
        try (Tensor ids = Tensor.allocate(DType.I32, count)) {
            for (int i = 0; i < count; i++) ids.data().setAtIndex(ValueLayout.JAVA_INT, i, tokens[from + i]);
            buffers.ids().view(0, count).copyFrom(ids);
        }
    }

    /** Final RMSNorm and classifier for row {@code r} of the last chunk. */
    private float[] logits(int r) {
        DeviceTensor normedRow = row(buffers.normed(), 0);
        norm.launch(stream, row(buffers.x(), r), null, weights.outputNorm(), normedRow, 1, config.rmsEps());
        gemm.multiply(normedRow, weights.classifier(), buffers.logits(), stream);
        stream.synchronize();
        try (Tensor host = buffers.logits().download()) {
            return host.toFloatArray();
        }
    }

    private void requireRoom(int tokens) {
        PrefillChunks.requireRoom(position, tokens, cache.capacity());
    }

    @Override
    public void close() {
        buffers.close();
        cache.close();
        attention.close();
    }
}
