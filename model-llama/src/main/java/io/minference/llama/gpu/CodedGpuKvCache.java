package io.minference.llama.gpu;

import io.minference.config.KvCacheType;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.kvcache.CodedBlocks;
import io.minference.kernels.kvcache.CodedKvLayer;
import io.minference.kernels.kvcache.KvCodes;
import io.minference.kernels.kvcache.KvQuantize;
import io.minference.kernels.transformer.RopeKvWrite;
import io.minference.llama.KvCacheCodes;
import io.minference.llama.LlamaConfig;
import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DevicePointer;
import io.minference.runtime.cuda.DeviceTensor;
import java.util.List;

/**
 * The 8-bit KV cache of every layer ({@link CodedKvLayer}, the layout of {@link io.minference.kernels.kvcache}) with
 * the codes its type names ({@code fp8}: e4m3, {@code int8}: int8, {@link KvCacheCodes}): about half the bytes of
 * bf16, the same for both, read only by decode. A prompt is prefilled layer-major over one layer's bf16 whole-prompt
 * K/V buffers, which its attention reads; after the layer's attention {@link KvQuantize} stores them in the layer's
 * cache, and the next layer reuses the buffers. Decode writes each token to the tail and quantizes a block when it
 * fills (the 8-bit mode of {@link RopeKvWrite}).
 */
final class CodedGpuKvCache implements GpuKvCache {
    private final CudaContext context;
    private final KvCacheType type;
    private final int capacity;
    private final int kvDim;
    private final CodedKvLayer[] layers;
    private final KvQuantize quantize;
    private final RopeKvWrite stepRope;
    private DeviceTensor promptKeys;
    private DeviceTensor promptValues;

    CodedGpuKvCache(CudaContext context, KvCacheType type, LlamaConfig c, int capacity) {
        this(context, type, c, capacity, c.numLayers());
    }

    /** A cache of {@code layerCount} layers of the model's shape (an offloaded cache's device slots). */
    CodedGpuKvCache(CudaContext context, KvCacheType type, LlamaConfig c, int capacity, int layerCount) {
        KvCodes codes = KvCacheCodes.of(type);
        requireSupported(c, type);
        this.context = context;
        this.type = type;
        this.capacity = capacity;
        this.kvDim = c.kvDim();
        this.quantize = new KvQuantize(c.numKvHeads(), c.headDim(), codes);
        this.stepRope = GpuKvCache.stepRope(c).withCacheCodes(codes);
        this.layers = new CodedKvLayer[layerCount];
        try {
            for (int l = 0; l < layers.length; l++) layers[l] = new CodedKvLayer(context, codes, capacity, c.numKvHeads(),
                    c.headDim());
        } catch (RuntimeException e) {
            close();
            throw new IllegalStateException("cannot allocate a device " + type.label() + " KV cache of " + capacity
                    + " positions (" + layerCount * layerBytes(c, capacity, type) / (1 << 20) + " MiB)", e);
        }
    }

    /**
     * Refuses, with the reason, a model whose shape the 8-bit kernels do not serve: the grouped decode's head dims
     * (64, 128) and groups (1 to 8 query heads per KV head).
     */
    static void requireSupported(LlamaConfig c, KvCacheType type) {
        AttentionShape shape = new AttentionShape(c.numHeads(), c.numKvHeads(), c.headDim());
        if (!FlashAttention.supportsCodedCache(shape)) {
            throw new IllegalArgumentException("--kv-cache " + type.label() + " needs head dim 64 or 128 and 1 to 8"
                    + " query heads per KV head; this model has head dim " + c.headDim() + " and " + shape.groupSize()
                    + " query heads per KV head: use --kv-cache bf16");
        }
    }

    static long layerBytes(LlamaConfig c, int capacity, KvCacheType type) {
        return CodedKvLayer.bytes(KvCacheCodes.of(type), capacity, c.numKvHeads(), c.headDim());
    }

    @Override
    public List<DeviceTensor> layerParts(int layer) {
        CodedKvLayer l = layers[layer];
        return List.of(l.keyCodes(), l.valueCodes(), l.keyScales(), l.valueScales(), l.keyTail(), l.valueTail());
    }

    @Override
    public List<Rows> heldRows(int length) {
        return held(length);
    }

    /**
     * Codes of the first {@code length} rows (those past the last full block are never read), their blocks' scales,
     * the whole tails.
     */
    static List<Rows> held(int length) {
        long blocks = CodedKvLayer.blocks(length);
        return List.of(new Rows(0, 0, length), new Rows(1, 0, length), new Rows(2, 0, blocks),
                new Rows(3, 0, blocks), new Rows(4, 0, CodedBlocks.BLOCK_TOKENS), new Rows(5, 0, CodedBlocks.BLOCK_TOKENS));
    }

    @Override
    public List<Rows> stepRows(int position) {
        return written(position);
    }

    /** The tails' row of the position and, when it is the last of its block, the block's codes and scales. */
    static List<Rows> written(int position) {
        int tailRow = position % CodedBlocks.BLOCK_TOKENS;
        List<Rows> tails = List.of(new Rows(4, tailRow, tailRow + 1), new Rows(5, tailRow, tailRow + 1));
        if (tailRow != CodedBlocks.BLOCK_TOKENS - 1) return tails;
        long block = position / CodedBlocks.BLOCK_TOKENS, first = block * CodedBlocks.BLOCK_TOKENS;
        return List.of(tails.get(0), tails.get(1), new Rows(0, first, position + 1), new Rows(1, first, position + 1),
                new Rows(2, block, block + 1), new Rows(3, block, block + 1));
    }

    @Override
    public KvCacheType type() {
        return type;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public long promptBytes(int length) {
        return 2L * 2 * length * kvDim;
    }

    @Override
    public void openPrompt(int length) {
        closePrompt();
        promptKeys = DeviceTensor.allocate(context, DType.BF16, length, kvDim);
        promptValues = DeviceTensor.allocate(context, DType.BF16, length, kvDim);
    }

    @Override
    public void closePrompt() {
        if (promptKeys != null) promptKeys.close();
        if (promptValues != null) promptValues.close();
        promptKeys = promptValues = null;
    }

    @Override
    public DeviceTensor promptKeys(int layer) {
        return requireOpen(promptKeys);
    }

    @Override
    public DeviceTensor promptValues(int layer) {
        return requireOpen(promptValues);
    }

    private static DeviceTensor requireOpen(DeviceTensor buffer) {
        if (buffer == null) throw new IllegalStateException("the FP8 cache's prompt buffers are not open");
        return buffer;
    }

    @Override
    public void storePrompt(CudaStream stream, int layer, int length) {
        quantize.launch(stream, promptKeys(layer), promptValues(layer), layers[layer], length);
    }

    @Override
    public void writeStep(CudaStream stream, int layer, DeviceTensor qkv, DeviceTensor q, DeviceTensor freqs,
                          DevicePointer positionAt) {
        stepRope.launch(stream, qkv, q, layers[layer], freqs, positionAt);
    }

    @Override
    public void attendStep(CudaStream stream, FlashAttention attention, int layer, DeviceTensor q, DeviceTensor out,
                           DevicePointer lengthAt) {
        attention.decode(stream, q, layers[layer], out, lengthAt);
    }

    @Override
    public void close() {
        closePrompt();
        for (CodedKvLayer layer : layers) if (layer != null) layer.close();
    }
}
