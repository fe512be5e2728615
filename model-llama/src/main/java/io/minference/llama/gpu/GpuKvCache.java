package io.minference.llama.gpu;

import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.DeviceTensor;

/**
 * Keys and values of every layer on the device, bf16 [capacity, numKvHeads headDim] each (the layout of
 * {@link io.minference.kernels.flash}), sized to one generation's positions.
 */
final class GpuKvCache implements AutoCloseable {
    private final int capacity;
    private final DeviceTensor[] keys;
    private final DeviceTensor[] values;

    GpuKvCache(CudaContext context, int layers, int capacity, int kvDim) {
        this.capacity = capacity;
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

    int capacity() {
        return capacity;
    }

    DeviceTensor keys(int layer) {
        return keys[layer];
    }

    DeviceTensor values(int layer) {
        return values[layer];
    }

    @Override
    public void close() {
        for (DeviceTensor t : keys) if (t != null) t.close();
        for (DeviceTensor t : values) if (t != null) t.close();
    }
}
