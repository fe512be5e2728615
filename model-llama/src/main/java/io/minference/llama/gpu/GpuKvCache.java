package io.minference.llama.gpu;

import io.minference.config.KvCacheType;
import io.minference.config.KvOffload;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.transformer.RopeKvWrite;
import io.minference.llama.LlamaConfig;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DevicePointer;
import io.minference.runtime.cuda.DeviceTensor;
import java.util.List;

/**
 * Keys and values of every layer on the device for one sequence, sized to its positions, in one of two formats:
 * {@link Bf16GpuKvCache} (bf16 [capacity, numKvHeads headDim], the layout of {@link io.minference.kernels.flash})
 * or {@link CodedGpuKvCache} (the format of {@link io.minference.kernels.kvcache}). The forward pass writes and reads
 * it through these methods, so that the format stays out of the layer recipe. With {@link KvOffload#HOST} either
 * format keeps its layers in pinned host memory and two on the device ({@link OffloadedGpuKvCache}).
 */
sealed interface GpuKvCache extends AutoCloseable permits Bf16GpuKvCache, CodedGpuKvCache, OffloadedGpuKvCache {

    static GpuKvCache allocate(CudaContext context, LlamaConfig c, int capacity, KvCacheType type,
                               KvOffload offload) {
        return switch (offload) {
            case NONE -> allocate(context, c, capacity, type);
            case HOST -> new OffloadedGpuKvCache(context, c, capacity, type);
        };
    }

    /** A cache of every layer of {@code c} on the device. */
    static GpuKvCache allocate(CudaContext context, LlamaConfig c, int capacity, KvCacheType type) {
        return switch (type) {
            case BF16 -> new Bf16GpuKvCache(context, c, capacity);
            case FP8, INT8 -> new CodedGpuKvCache(context, type, c, capacity);
        };
    }

    /** Device bytes of a cache of {@code capacity} positions, every layer on the device. */
    static long bytes(LlamaConfig c, int capacity, KvCacheType type) {
        return c.numLayers() * layerBytes(c, capacity, type);
    }

    /** Bytes of one layer's cache of {@code capacity} positions (on the device, or its copy in host memory). */
    static long layerBytes(LlamaConfig c, int capacity, KvCacheType type) {
        return switch (type) {
            case BF16 -> 2L * capacity * c.kvDim() * 2;
            case FP8, INT8 -> CodedGpuKvCache.layerBytes(c, capacity, type);
        };
    }

    /** Rows {@code [from, to)} of part {@code part} of a layer's tensors ({@link #layerParts}). */
    record Rows(int part, long from, long to) {
    }

    /** Layer l's device tensors, each [rows, width], always in the same order: what an offload copies. */
    List<DeviceTensor> layerParts(int layer);

    /** The rows of each part that hold a layer's first {@code length} positions. */
    List<Rows> heldRows(int length);

    /** The rows of each part that a decode step at {@code position} writes. */
    List<Rows> stepRows(int position);

    /**
     * Queued before layer l of a layer-major prefill writes anything: waits, on {@code stream}, until the device
     * memory the layer writes is free (nothing when every layer has its own).
     */
    default void beginPromptLayer(CudaStream stream, int layer) {
    }

    /** Queued before a decode step at {@code position}: brings what it reads to the device (nothing by default). */
    default void beginStep(CudaStream stream, int position) {
    }

    /**
     * Whether a decode step's launches can be captured once and replayed: true unless the cache queues copies whose
     * sizes follow the position.
     */
    default boolean replayable() {
        return true;
    }

    KvCacheType type();

    int capacity();

    /**
     * Where a layer-major prefill of {@code length} tokens writes layer l's keys and values (bf16 [length, kvDim]
     * each) and its prompt attention reads them: the cache's own rows, or one layer's whole-prompt buffers.
     */
    DeviceTensor promptKeys(int layer);

    DeviceTensor promptValues(int layer);

    /** Queued after layer l's prompt attention: what the prefill wrote becomes the cache's (nothing for bf16). */
    void storePrompt(CudaStream stream, int layer, int length);

    /** Device bytes a layer-major prefill of {@code length} tokens allocates on top of the cache (0 for bf16). */
    long promptBytes(int length);

    /** Allocates the whole-prompt buffers a layer-major prefill of {@code length} tokens needs, if any. */
    void openPrompt(int length);

    /** Frees them. */
    void closePrompt();

    /**
     * One decode token's RoPE and cache write for layer l: row 0 of {@code qkv}, Q rotated into {@code q}, at the
     * position read from {@code positionAt} when the kernel runs.
     */
    void writeStep(CudaStream stream, int layer, DeviceTensor qkv, DeviceTensor q, DeviceTensor freqs,
                   DevicePointer positionAt);

    /** One decode token's attention for layer l over the cache's first {@code lengthAt} positions. */
    void attendStep(CudaStream stream, FlashAttention attention, int layer, DeviceTensor q, DeviceTensor out,
                    DevicePointer lengthAt);

    /** The decode-time RoPE + KV write of a shape, reading its position from the device. */
    static RopeKvWrite stepRope(LlamaConfig c) {
        return new RopeKvWrite(c.numHeads(), c.numKvHeads(), c.headDim()).withStartOnDevice();
    }

    @Override
    void close();
}
