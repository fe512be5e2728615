package io.minference.llama.gpu;

import io.minference.config.KvCacheType;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.transformer.RopeKvWrite;
import io.minference.llama.LlamaConfig;
import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DevicePointer;
import io.minference.runtime.cuda.DeviceTensor;
import java.util.List;

/**
 * Keys and values of every layer on the device, bf16 [capacity, numKvHeads headDim] each (the layout of
 * {@link io.minference.kernels.flash}), sized to one generation's positions. A prompt is written in place.
 */
final class Bf16GpuKvCache implements GpuKvCache {
    private final int capacity;
    private final DeviceTensor[] keys;
    private final DeviceTensor[] values;
    private final RopeKvWrite stepRope;

    Bf16GpuKvCache(CudaContext context, LlamaConfig c, int capacity) {
        this(context, c, capacity, c.numLayers());
    }

    /** A cache of {@code layers} layers of the model's shape (an offloaded cache's device slots). */
    Bf16GpuKvCache(CudaContext context, LlamaConfig c, int capacity, int layers) {
        int kvDim = c.kvDim();
        this.capacity = capacity;
        this.stepRope = GpuKvCache.stepRope(c);
        this.keys = new DeviceTensor[layers];
        this.values = new DeviceTensor[layers];
        try {
            for (int l = 0; l < layers; l++) {
                keys[l] = DeviceTensor.allocate(context, DType.BF16, capacity, kvDim);
                values[l] = DeviceTensor.allocate(context, DType.BF16, capacity, kvDim);
            }
        } catch (RuntimeException e) {
            close();
            long bytes = 2L * layers * capacity * kvDim * DType.BF16.byteSize();
            throw new IllegalStateException("cannot allocate a device KV cache of " + capacity + " positions ("
                    + bytes / (1 << 20) + " MiB)", e);
        }
    }

    @Override
    public KvCacheType type() {
        return KvCacheType.BF16;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    DeviceTensor keys(int layer) {
        return keys[layer];
    }

    DeviceTensor values(int layer) {
        return values[layer];
    }

    @Override
    public List<DeviceTensor> layerParts(int layer) {
        return List.of(keys[layer], values[layer]);
    }

    @Override
    public List<Rows> heldRows(int length) {
        return List.of(new Rows(0, 0, length), new Rows(1, 0, length));
    }

    @Override
    public List<Rows> stepRows(int position) {
        return List.of(new Rows(0, position, position + 1), new Rows(1, position, position + 1));
    }

    @Override
    public DeviceTensor promptKeys(int layer) {
        return keys[layer];
    }

    @Override
    public DeviceTensor promptValues(int layer) {
        return values[layer];
    }

    @Override
    public void storePrompt(CudaStream stream, int layer, int length) {
    }

    @Override
    public long promptBytes(int length) {
        return 0;
    }

    @Override
    public void openPrompt(int length) {
    }

    @Override
    public void closePrompt() {
    }

    @Override
    public void writeStep(CudaStream stream, int layer, DeviceTensor qkv, DeviceTensor q, DeviceTensor freqs,
                          DevicePointer positionAt) {
        stepRope.launch(stream, qkv, q, keys[layer], values[layer], freqs, positionAt, 1);
    }

    @Override
    public void attendStep(CudaStream stream, FlashAttention attention, int layer, DeviceTensor q, DeviceTensor out,
                           DevicePointer lengthAt) {
        attention.decode(stream, q, keys[layer], values[layer], out, lengthAt, capacity);
    }

    @Override
    public void close() {
        for (DeviceTensor t : keys) if (t != null) t.close();
        for (DeviceTensor t : values) if (t != null) t.close();
    }
}
