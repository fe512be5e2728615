package io.minference.llama.forward;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;

/**
 * Keys and values of every layer, F32 [capacity, kvDim] each. The capacity is the number of positions one
 * generation needs (prompt plus generated tokens), not the model's whole context, so that a model with a million
 * positions of context does not reserve them all for a short prompt.
 */
public final class KvCache implements AutoCloseable {
    private final int capacity;
    private final int kvDim;
    private final Tensor[] keys;
    private final Tensor[] values;

    public KvCache(int layers, int capacity, int kvDim) {
        if (layers < 1 || capacity < 1 || kvDim < 1) {
            throw new IllegalArgumentException("KV cache needs positive sizes, got " + layers + " layers, capacity "
                    + capacity + ", KV width " + kvDim);
        }
        this.capacity = capacity;
        this.kvDim = kvDim;
        this.keys = new Tensor[layers];
        this.values = new Tensor[layers];
        try {
            for (int l = 0; l < layers; l++) {
                keys[l] = Tensor.allocate(DType.F32, capacity, kvDim);
                values[l] = Tensor.allocate(DType.F32, capacity, kvDim);
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            close();
            long bytes = 2L * layers * capacity * kvDim * 4;
            throw new IllegalStateException("cannot allocate a KV cache of " + capacity + " positions ("
                    + bytes / (1 << 20) + " MiB)", e);
        }
    }

    public int capacity() {
        return capacity;
    }

    public int kvDim() {
        return kvDim;
    }

    /** The whole key cache of one layer, [capacity, kvDim]. */
    public Tensor keys(int layer) {
        return keys[layer];
    }

    public Tensor values(int layer) {
        return values[layer];
    }

    /** A view of key rows [start, start + count) of one layer, for writing a block's keys in place. */
    public Tensor keyRows(int layer, int start, int count) {
        return rows(keys[layer], start, count);
    }

    public Tensor valueRows(int layer, int start, int count) {
        return rows(values[layer], start, count);
    }

    private Tensor rows(Tensor t, int start, int count) {
        if (start < 0 || count < 1 || (long) start + count > capacity) {
            throw new IllegalArgumentException("positions [" + start + ", " + ((long) start + count)
                    + ") lie outside the KV cache of " + capacity + " positions");
        }
        long rowBytes = 4L * kvDim;
        return Tensor.wrap(DType.F32, t.data().asSlice(start * rowBytes, count * rowBytes), count, kvDim);
    }

    @Override
    public void close() {
        for (Tensor t : keys) if (t != null) t.close();
        for (Tensor t : values) if (t != null) t.close();
    }
}
