package io.minference.llama.forward;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.attention.CpuCausalAttention;
import io.minference.kernels.attention.PromptAttention;
import io.minference.kernels.cpu.EmbeddingGather;
import io.minference.kernels.cpu.ResidualAdd;
import io.minference.kernels.cpu.RmsNorm;
import io.minference.kernels.cpu.Rope;
import io.minference.kernels.cpu.SwiGlu;
import io.minference.kernels.kvcache.CodedBlocks;
import io.minference.kernels.kvcache.KvCodes;
import io.minference.kernels.kvcache.KvScaleGroup;
import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.runtime.DType;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.runtime.cuda.BFloat16;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * One sequence's pass through the transformer, position by position, on the CPU.
 *
 * <p>Each layer runs: RMSNorm → Q/K/V projections (K and V written straight into the cache) → RoPE on Q and K →
 * causal attention → output projection → residual → RMSNorm → SwiGLU MLP → residual. The recipe is written once,
 * as its two halves around attention ({@link #projectQkv} and {@link #finishLayer}); the two ways of walking a prompt
 * call them in different orders:
 * <ul>
 *   <li>block by block ({@link #prefill(int[], ProgressListener, int)}, {@link #decode}): every layer of a block of
 *       {@code blockSize} tokens, then the next block, with dense attention;</li>
 *   <li>layer-major ({@link #prefill(int[], ProgressListener, PromptAttention, int)}): every block of one layer, then
 *       the next layer, so that the attention (a sparse prefill, or an observer) sees each layer's prompt whole.</li>
 * </ul>
 * The final RMSNorm and the vocabulary projection run only for the positions whose logits are wanted, a few rows at
 * a time ({@link #LOGIT_ROWS}), so that asking for the logits of many positions needs no vocabulary-wide buffer per
 * prompt row.
 *
 * <p>The cache holds f32 keys and values. After {@link #useCodedKvCache(KvCodes)} it is the CPU reference of the
 * GPU's 8-bit cache ({@link io.minference.kernels.kvcache}) with e4m3 or int8 codes: every full 64-position block is
 * rounded to bf16 (what the device cache holds), quantized by {@link CodedBlocks#quantize}, and its rows
 * replaced by the dequantized
 * values, which decode then reads; the partial last block stays as it is until it fills. Blocks are quantized after
 * a prefill and after each decode step, never during a prefill, so a prompt's own attention sees full precision.
 */
public final class LlamaForward implements ForwardPass {
    public static final int DEFAULT_BLOCK_SIZE = 128;
    /** Rows whose vocabulary projection runs at once when several positions' logits are kept. */
    public static final int LOGIT_ROWS = 32;

    private final LlamaConfig config;
    private final LlamaWeights weights;
    private final CpuBackend backend;
    private final CpuCausalAttention denseAttention;
    private final AttentionShape shape;
    private final Rope rope;
    private final KvCache cache;
    private final Activations buffers;
    private int position;
    /** The 8-bit cache's code format, or null while the cache is full precision. */
    private KvCodes kvCodes;
    /** With an 8-bit cache: positions below this are stored as dequantized codes (a multiple of 64). */
    private int quantizedEnd;

    /** Blocks of {@link #DEFAULT_BLOCK_SIZE}. */
    public LlamaForward(LlamaConfig config, LlamaWeights weights, CpuBackend backend, int capacity) {
        this(config, weights, backend, capacity, DEFAULT_BLOCK_SIZE);
    }

    /**
     * @param capacity  positions this sequence may hold, at most the model's context
     * @param blockSize prompt tokens per block
     */
    public LlamaForward(LlamaConfig config, LlamaWeights weights, CpuBackend backend, int capacity, int blockSize) {
        if (capacity < 1 || capacity > config.contextLength()) {
            throw new IllegalArgumentException("capacity must be between 1 and the context length "
                    + config.contextLength() + ", got " + capacity);
        }
        if (blockSize < 1) throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        WeightShapes.check(config, weights);
        HostMemoryPlan.of(config, capacity, Math.min(blockSize, capacity), backend.threads())
                .requireFits("a sequence of " + capacity + " positions");
        this.config = config;
        this.weights = weights;
        this.backend = backend;
        this.denseAttention = new CpuCausalAttention(backend);
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

    /** Prompt tokens per block. */
    public int blockSize() {
        return buffers.rows();
    }

    /**
     * Forgets positions from {@code newPosition} on, so that they can be computed again. With an 8-bit cache, the block
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
     * Keeps keys and values as 8-bit {@code codes} from now on (see the class comment): quantizes the full blocks
     * held, and each block as it fills. There is no way back to full precision, nor to other codes.
     */
    public void useCodedKvCache(KvCodes codes) {
        Objects.requireNonNull(codes, "codes");
        if (kvCodes != null && kvCodes != codes) {
            throw new IllegalStateException("the KV cache already keeps " + kvCodes.label() + " codes");
        }
        kvCodes = codes;
        quantizeFullBlocks();
    }

    /**
     * Forgets the cache's code format, for tests in this package that compare formats after one prefill: they put
     * the prompt's full-precision rows back themselves (the rows quantized so far keep their dequantized values).
     */
    void dropKvCodes() {
        kvCodes = null;
        quantizedEnd = 0;
    }

    /** The cache, for tests in this package. */
    KvCache kvCache() {
        return cache;
    }

    /** The 8-bit cache's code format, empty while the cache is full precision. */
    public Optional<KvCodes> kvCodes() {
        return Optional.ofNullable(kvCodes);
    }

    private static int blockStart(int position) {
        return position / CodedBlocks.BLOCK_TOKENS * CodedBlocks.BLOCK_TOKENS;
    }

    /** With an 8-bit cache: quantizes, in every layer, the blocks that filled since the last call. */
    private void quantizeFullBlocks() {
        if (kvCodes == null) return;
        int end = blockStart(position);
        if (end <= quantizedEnd) return;
        int kvDim = cache.kvDim(), rows = end - quantizedEnd;
        float[] values = new float[rows * kvDim];
        for (int l = 0; l < config.numLayers(); l++) {
            for (KvScaleGroup group : KvScaleGroup.values()) {
                Tensor t = group == KvScaleGroup.KEYS ? cache.keyRows(l, quantizedEnd, rows)
                        : cache.valueRows(l, quantizedEnd, rows);
                for (int i = 0; i < values.length; i++) values[i] = BFloat16.round(t.getFloat(i));
                float[] decoded = CodedBlocks.quantize(kvCodes, group, config.numKvHeads(), config.headDim(), values)
                        .values();
                for (int i = 0; i < decoded.length; i++) t.setFloat(i, decoded[i]);
            }
        }
        quantizedEnd = end;
    }

    /** As {@link #prefill(int[], ProgressListener, int)}, keeping the last position's logits only. */
    public float[] prefill(int[] tokens, ProgressListener progress) {
        return prefill(tokens, progress, 1)[0];
    }

    /**
     * Runs {@code tokens} from the current position in blocks, with dense attention, and returns the logits of the
     * last {@code logitsToKeep} tokens (row i predicts the token after {@code tokens[length - logitsToKeep + i]}).
     * Reports ("prefill", tokens done, tokens in all) after every block.
     */
    public float[][] prefill(int[] tokens, ProgressListener progress, int logitsToKeep) {
        requireRoom(tokens.length);
        float[][] kept = PrefillChunks.runKeepingLast(tokens.length, buffers.rows(), logitsToKeep, progress,
                (from, count) -> forwardBlock(tokens, from, count),
                (first, count, rows, at) -> keepLogits(buffers.x(), first, count, rows, at));
        quantizeFullBlocks();
        return kept;
    }

    /** As {@link #prefill(int[], ProgressListener, PromptAttention, int)}, keeping the last position's logits. */
    public float[] prefill(int[] tokens, ProgressListener progress, PromptAttention attention) {
        return prefill(tokens, progress, attention, 1)[0];
    }

    /**
     * Runs a whole prompt from position 0 layer-major, with {@code attention} seeing each layer's prompt whole (a
     * sparse prefill), and returns the logits of the last {@code logitsToKeep} tokens. Reports ("prefill", tokens
     * done, tokens in all) after every layer.
     */
    public float[][] prefill(int[] tokens, ProgressListener progress, PromptAttention attention, int logitsToKeep) {
        PrefillChunks.requireKeep(logitsToKeep, tokens.length);
        float[][] kept = new float[logitsToKeep][];
        layerMajor(tokens, progress, attention, config.numLayers(),
                (x, length) -> keepLogits(x, length - logitsToKeep, logitsToKeep, kept, 0));
        return kept;
    }

    /**
     * Runs the first {@code layers} layers of a whole prompt layer-major, with {@code attention} seeing each one
     * (an observer of queries and keys, say), and computes no logits. The cache then holds those layers only, so
     * the sequence cannot continue: it is left at position 0.
     */
    public void prefillLayers(int[] tokens, ProgressListener progress, PromptAttention attention, int layers) {
        if (layers < 1 || layers > config.numLayers()) {
            throw new IllegalArgumentException("layers must be from 1 to " + config.numLayers() + ", got " + layers);
        }
        layerMajor(tokens, progress, attention, layers, (x, length) -> { });
        position = 0;
    }

    /** What a layer-major prefill does with the final residual stream of the prompt ([length, dim]). */
    private interface FinalRows {
        void accept(Tensor x, int length);
    }

    private void layerMajor(int[] tokens, ProgressListener progress, PromptAttention attention, int layers,
                            FinalRows last) {
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
            PrefillChunks.forEach(length, rows, (from, count) ->
                    EmbeddingGather.apply(weights.tokenEmbedding(), tokens, from, count, rows(x, from, count)));
            for (int l = 0; l < layers; l++) {
                LayerWeights w = weights.layers().get(l);
                int layer = l;
                PrefillChunks.forEach(length, rows, (from, count) ->
                        projectQkv(layer, w, rows(x, from, count), rows(queries, from, count), from, count));
                attention.attend(l, shape, queries, cache.keys(l), cache.values(l), attended, length);
                PrefillChunks.forEach(length, rows, (from, count) ->
                        finishLayer(w, rows(x, from, count), rows(attended, from, count), count));
                progress.progress("prefill", (long) length * (l + 1) / layers, length);
            }
            position = length;
            last.accept(x, length);
            quantizeFullBlocks();
        }
    }

    /** Runs one token at the current position and returns the logits that predict the next. */
    public float[] decode(int token) {
        requireRoom(1);
        forwardBlock(new int[] {token}, 0, 1);
        quantizeFullBlocks();
        float[][] logits = new float[1][];
        keepLogits(buffers.x(), 0, 1, logits, 0);
        return logits[0];
    }

    /**
     * Runs tokens[from, from + count) (count at most the block size) through every layer at the current position,
     * with dense attention, without computing logits.
     */
    public void forwardBlock(int[] tokens, int from, int count) {
        requireRoom(count);
        if (count < 1 || count > buffers.rows()) {
            throw new IllegalArgumentException("a block holds 1 to " + buffers.rows() + " tokens, got " + count);
        }
        Activations a = buffers;
        int start = position;
        EmbeddingGather.apply(weights.tokenEmbedding(), tokens, from, count, a.x());
        for (int l = 0; l < config.numLayers(); l++) {
            LayerWeights w = weights.layers().get(l);
            projectQkv(l, w, a.x(), a.q(), start, count);
            denseAttention.attend(l, shape, a.q(), cache.keys(l), cache.values(l), a.attention(), start, count);
            finishLayer(w, a.x(), a.attention(), count);
        }
        position = start + count;
    }

    /**
     * The layer's first half, for residual rows {@code x} at positions {@code [start, start + count)}: RMSNorm, the
     * Q/K/V projections (K and V into the cache rows of those positions) and RoPE on Q and K.
     */
    private void projectQkv(int layer, LayerWeights w, Tensor x, Tensor q, int start, int count) {
        Activations a = buffers;
        Tensor keys = cache.keyRows(layer, start, count);
        RmsNorm.apply(x, w.attentionNorm(), a.normed(), count, config.rmsEps());
        backend.matmul(a.normed(), w.wq(), q, count);
        backend.matmul(a.normed(), w.wk(), keys, count);
        backend.matmul(a.normed(), w.wv(), cache.valueRows(layer, start, count), count);
        rope.apply(q, count, start);
        rope.apply(keys, count, start);
    }

    /**
     * The layer's second half: the output projection of the attention rows with its residual, then the SwiGLU MLP
     * with its residual: {@code x += down(silu(gate(n)) * up(n))}, {@code n = RMSNorm(x)}.
     */
    private void finishLayer(LayerWeights w, Tensor x, Tensor attended, int count) {
        Activations a = buffers;
        backend.matmul(attended, w.wo(), a.projected(), count);
        ResidualAdd.apply(x, a.projected(), count);
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

    /**
     * Final RMSNorm and classifier for {@code count} residual rows of {@code hidden} from row {@code first}, into
     * {@code kept[at...]}, {@link #LOGIT_ROWS} rows at a time (count may exceed it).
     */
    private void keepLogits(Tensor hidden, int first, int count, float[][] kept, int at) {
        int vocab = config.vocabSize();
        int step = Math.min(LOGIT_ROWS, buffers.rows());
        for (int done = 0; done < count; done += step) {
            int n = Math.min(step, count - done);
            Tensor normed = rows(buffers.normed(), 0, n);
            RmsNorm.apply(rows(hidden, first + done, n), weights.outputNorm(), normed, n, config.rmsEps());
            if (n == 1) {
                backend.matmul(normed, weights.classifier(), buffers.logits(), 1);
                kept[at + done] = buffers.logits().toFloatArray();
                continue;
            }
            try (Tensor logits = Tensor.allocate(DType.F32, n, vocab)) {
                backend.matmul(normed, weights.classifier(), logits, n);
                float[] all = logits.toFloatArray();
                for (int r = 0; r < n; r++) kept[at + done + r] = Arrays.copyOfRange(all, r * vocab, (r + 1) * vocab);
            }
        }
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
