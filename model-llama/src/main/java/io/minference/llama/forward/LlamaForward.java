package io.minference.llama.forward;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.attention.CausalAttention;
import io.minference.kernels.attention.CpuCausalAttention;
import io.minference.kernels.attention.PromptAttention;
import io.minference.kernels.cpu.EmbeddingGather;
import io.minference.kernels.cpu.ResidualAdd;
import io.minference.kernels.cpu.RmsNorm;
import io.minference.kernels.cpu.Rope;
import io.minference.kernels.cpu.SwiGlu;
import io.minference.kernels.kvcache.Fp8E4m3;
import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.runtime.DType;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.runtime.cuda.BFloat16;

/**
 * One sequence's pass through the transformer, position by position, on the CPU.
 *
 * <p>Each block of tokens runs: RMSNorm → Q/K/V projections (K and V written straight into the cache) → RoPE on
 * Q and K → causal attention → output projection → residual → RMSNorm → SwiGLU MLP → residual. A prompt goes
 * through in blocks of {@code blockSize} tokens, so that every weight matrix is multiplied by a whole block at once;
 * the final RMSNorm and the vocabulary projection run only for the position whose logits are wanted.
 *
 * <p>Prompt blocks use the attention given to the constructor (dense, or a sparse prefill); single decode steps
 * always use dense attention.
 *
 * <p>The cache holds f32 keys and values. After {@link #useFp8KvCache()} it is the CPU reference of the GPU's FP8
 * cache ({@link io.minference.kernels.kvcache}): every full 64-position block is rounded to bf16 (what the device
 * cache holds), quantized per KV head by {@link Fp8E4m3#quantizeBlock}, and its rows replaced by the dequantized
 * values, which decode then reads; the partial last block stays as it is until it fills. Blocks are quantized after
 * a prefill and after each decode step, never during a prefill, so a prompt's own attention sees full precision.
 */
public final class LlamaForward implements AutoCloseable {
    public static final int DEFAULT_BLOCK_SIZE = 128;

    private final LlamaConfig config;
    private final LlamaWeights weights;
    private final CpuBackend backend;
    private final CausalAttention prefillAttention;
    private final CausalAttention decodeAttention;
    private final AttentionShape shape;
    private final Rope rope;
    private final KvCache cache;
    private final Activations buffers;
    private int position;
    private boolean fp8KvCache;
    /** With an FP8 cache: positions below this are stored as dequantized FP8 (a multiple of 64). */
    private int quantizedEnd;

    /** Dense attention, blocks of {@link #DEFAULT_BLOCK_SIZE}. */
    public LlamaForward(LlamaConfig config, LlamaWeights weights, CpuBackend backend, int capacity) {
        this(config, weights, backend, null, capacity, DEFAULT_BLOCK_SIZE);
    }

    /**
     * @param prefillAttention attention for prompt blocks, or null for dense
     * @param capacity         positions this sequence may hold, at most the model's context
     * @param blockSize        prompt tokens per block
     */
    public LlamaForward(LlamaConfig config, LlamaWeights weights, CpuBackend backend, CausalAttention prefillAttention,
                        int capacity, int blockSize) {
        if (capacity < 1 || capacity > config.contextLength()) {
            throw new IllegalArgumentException("capacity must be between 1 and the context length "
                    + config.contextLength() + ", got " + capacity);
        }
        if (blockSize < 1) throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        WeightShapes.check(config, weights);
        this.config = config;
        this.weights = weights;
        this.backend = backend;
        this.decodeAttention = new CpuCausalAttention(backend);
        this.prefillAttention = prefillAttention == null ? decodeAttention : prefillAttention;
        this.shape = new AttentionShape(config.numHeads(), config.numKvHeads(), config.headDim());
        this.rope = new Rope(config.headDim(), config.ropeTheta(), weights.ropeFreqFactors());
        this.cache = new KvCache(config.numLayers(), capacity, config.kvDim());
        try {
            this.buffers = Activations.allocate(config, Math.min(blockSize, capacity));
        } catch (RuntimeException e) {
            cache.close();
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
     * Forgets positions from {@code newPosition} on, so that they can be computed again. With an FP8 cache, the block
     * that holds {@code newPosition} is quantized again when it refills; its rows below {@code newPosition} keep the
     * dequantized values they had (quantizing those again changes them at most by a rounding of their new scale).
     */
    public void rewind(int newPosition) {
        if (newPosition < 0 || newPosition > position) {
            throw new IllegalArgumentException("cannot rewind to " + newPosition + " from position " + position);
        }
        position = newPosition;
        quantizedEnd = Math.min(quantizedEnd, blockStart(newPosition));
    }

    /**
     * Keeps keys and values as FP8 from now on (see the class comment): quantizes the full blocks held, and each
     * block as it fills. There is no way back to full precision.
     */
    public void useFp8KvCache() {
        fp8KvCache = true;
        quantizeFullBlocks();
    }

    /** The cache, for tests in this package. */
    KvCache kvCache() {
        return cache;
    }

    /** Whether the cache is FP8. */
    public boolean fp8KvCache() {
        return fp8KvCache;
    }

    private static int blockStart(int position) {
        return position / Fp8E4m3.BLOCK_TOKENS * Fp8E4m3.BLOCK_TOKENS;
    }

    /** With an FP8 cache: quantizes, in every layer, the blocks that filled since the last call. */
    private void quantizeFullBlocks() {
        if (!fp8KvCache) return;
        int end = blockStart(position);
        if (end <= quantizedEnd) return;
        int kvDim = cache.kvDim(), rows = end - quantizedEnd, headDim = config.headDim();
        float[] values = new float[rows * kvDim];
        byte[] codes = new byte[values.length];
        for (int l = 0; l < config.numLayers(); l++) {
            for (Tensor t : new Tensor[] {cache.keyRows(l, quantizedEnd, rows), cache.valueRows(l, quantizedEnd, rows)}) {
                for (int i = 0; i < values.length; i++) values[i] = BFloat16.round(t.getFloat(i));
                for (int b = 0; b < rows / Fp8E4m3.BLOCK_TOKENS; b++) {
                    for (int h = 0; h < config.numKvHeads(); h++) {
                        int from = b * Fp8E4m3.BLOCK_TOKENS * kvDim + h * headDim;
                        float scale = Fp8E4m3.quantizeBlock(values, from, Fp8E4m3.BLOCK_TOKENS, kvDim, headDim, codes);
                        for (int r = 0; r < Fp8E4m3.BLOCK_TOKENS; r++) {
                            for (int i = 0; i < headDim; i++) {
                                int at = from + r * kvDim + i;
                                t.setFloat(at, Fp8E4m3.decode(codes[at]) * scale);
                            }
                        }
                    }
                }
            }
        }
        quantizedEnd = end;
    }

    /**
     * Runs {@code tokens} from the current position in blocks and returns the logits of the last one.
     * Reports ("prefill", tokens done, tokens in all) after every block.
     */
    public float[] prefill(int[] tokens, ProgressListener progress) {
        requireRoom(tokens.length);
        int lastCount = PrefillChunks.run(tokens.length, buffers.rows(), progress,
                (from, count) -> forwardBlock(tokens, from, count, prefillAttention));
        quantizeFullBlocks();
        return logits(lastCount - 1);
    }

    /**
     * Runs a whole prompt from position 0 layer-major, with {@code attention} seeing each layer's prompt whole (a
     * sparse prefill), and returns the logits of the last token. Reports ("prefill", tokens done, tokens in all).
     */
    public float[] prefill(int[] tokens, ProgressListener progress, PromptAttention attention) {
        PrefillChunks.requireStart(position);
        requireRoom(tokens.length);
        if (tokens.length == 0) throw new IllegalArgumentException("nothing to prefill: no tokens");
        int length = tokens.length;
        int rows = buffers.rows();
        int queryDim = shape.queryDim();
        progress.progress("prefill", 0, length);
        try (Tensor x = Tensor.allocate(DType.F32, length, config.dim());
             Tensor queries = Tensor.allocate(DType.F32, length, queryDim);
             Tensor attended = Tensor.allocate(DType.F32, length, queryDim)) {
            Activations a = buffers;
            PrefillChunks.forEach(length, rows,
                    (from, count) -> EmbeddingGather.apply(weights.tokenEmbedding(), tokens, from, count, rows(x, from, count)));
            for (int l = 0; l < config.numLayers(); l++) {
                LayerWeights w = weights.layers().get(l);
                int layer = l;
                PrefillChunks.forEach(length, rows, (from, count) -> {
                    Tensor q = rows(queries, from, count);
                    Tensor keys = cache.keyRows(layer, from, count);
                    RmsNorm.apply(rows(x, from, count), w.attentionNorm(), a.normed(), count, config.rmsEps());
                    backend.matmul(a.normed(), w.wq(), q, count);
                    backend.matmul(a.normed(), w.wk(), keys, count);
                    backend.matmul(a.normed(), w.wv(), cache.valueRows(layer, from, count), count);
                    rope.apply(q, count, from);
                    rope.apply(keys, count, from);
                });
                attention.attend(l, shape, queries, cache.keys(l), cache.values(l), attended, length);
                PrefillChunks.forEach(length, rows, (from, count) -> {
                    Tensor xRows = rows(x, from, count);
                    backend.matmul(rows(attended, from, count), w.wo(), a.projected(), count);
                    ResidualAdd.apply(xRows, a.projected(), count);
                    feedForward(w, xRows, count);
                });
                progress.progress("prefill", (long) length * (l + 1) / config.numLayers(), length);
            }
            position = length;
            quantizeFullBlocks();
            return logits(Activations.row(x, length - 1));
        }
    }

    /** Runs one token at the current position and returns the logits that predict the next. */
    public float[] decode(int token) {
        requireRoom(1);
        forwardBlock(new int[] {token}, 0, 1, decodeAttention);
        quantizeFullBlocks();
        return logits(0);
    }

    /**
     * Runs tokens[from, from + count) (count at most the block size) through every layer at the current position,
     * without computing logits.
     */
    public void forwardBlock(int[] tokens, int from, int count) {
        requireRoom(count);
        forwardBlock(tokens, from, count, prefillAttention);
    }

    private void forwardBlock(int[] tokens, int from, int count, CausalAttention attention) {
        if (count < 1 || count > buffers.rows()) {
            throw new IllegalArgumentException("a block holds 1 to " + buffers.rows() + " tokens, got " + count);
        }
        Activations a = buffers;
        int start = position;
        EmbeddingGather.apply(weights.tokenEmbedding(), tokens, from, count, a.x());
        for (int l = 0; l < config.numLayers(); l++) {
            LayerWeights w = weights.layers().get(l);
            RmsNorm.apply(a.x(), w.attentionNorm(), a.normed(), count, config.rmsEps());
            Tensor keys = cache.keyRows(l, start, count);
            Tensor values = cache.valueRows(l, start, count);
            backend.matmul(a.normed(), w.wq(), a.q(), count);
            backend.matmul(a.normed(), w.wk(), keys, count);
            backend.matmul(a.normed(), w.wv(), values, count);
            rope.apply(a.q(), count, start);
            rope.apply(keys, count, start);
            attention.attend(l, shape, a.q(), cache.keys(l), cache.values(l), a.attention(), start, count);
            backend.matmul(a.attention(), w.wo(), a.projected(), count);
            ResidualAdd.apply(a.x(), a.projected(), count);
            feedForward(w, a.x(), count);
        }
        position = start + count;
    }

    /** The SwiGLU MLP with its residual: {@code x += down(silu(gate(n)) * up(n))}, {@code n = RMSNorm(x)}. */
    private void feedForward(LayerWeights w, Tensor x, int count) {
        Activations a = buffers;
        RmsNorm.apply(x, w.ffnNorm(), a.normed(), count, config.rmsEps());
        backend.matmul(a.normed(), w.wGate(), a.gate(), count);
        backend.matmul(a.normed(), w.wUp(), a.up(), count);
        SwiGlu.apply(a.gate(), a.up(), a.gate(), count);
        backend.matmul(a.gate(), w.wDown(), a.projected(), count);
        ResidualAdd.apply(x, a.projected(), count);
    }

    /** Rows {@code [from, from + count)} of an F32 [rows, width] tensor as a [count, width] view. */
    private static Tensor rows(Tensor t, int from, int count) {
        long rowBytes = 4L * t.dim(1);
        return Tensor.wrap(DType.F32, t.data().asSlice(from * rowBytes, count * rowBytes), count, t.dim(1));
    }

    /** Final RMSNorm and classifier for row {@code row} of the last block. */
    private float[] logits(int row) {
        return logits(Activations.row(buffers.x(), row));
    }

    /** Final RMSNorm and classifier for one residual row ([1, dim]). */
    private float[] logits(Tensor hidden) {
        Tensor normed = Activations.row(buffers.normed(), 0);
        RmsNorm.apply(hidden, weights.outputNorm(), normed, 1, config.rmsEps());
        backend.matmul(normed, weights.classifier(), buffers.logits(), 1);
        return buffers.logits().toFloatArray();
    }

    private void requireRoom(int tokens) {
        PrefillChunks.requireRoom(position, tokens, cache.capacity());
    }

    @Override
    public void close() {
        buffers.close();
        cache.close();
    }
}
