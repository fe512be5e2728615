package io.minference.llama.gguf;

import java.util.Arrays;

/**
 * A tensor's entry in a GGUF file.
 *
 * @param name       e.g. "blk.0.attn_q.weight"
 * @param type       stored type
 * @param ne         dimensions in ggml order: ne[0] varies fastest
 * @param dataOffset byte offset of the tensor's data from the start of the file's data section
 */
public record GgufTensorInfo(String name, GgmlType type, long[] ne, long dataOffset) {

    public GgufTensorInfo {
        ne = ne.clone();
    }

    @Override
    public long[] ne() {
        return ne.clone();
    }

    /** The shape in the row-major order of {@link io.minference.runtime.Tensor}: ggml's ne reversed. */
    public long[] shape() {
        long[] shape = new long[ne.length];
        for (int i = 0; i < ne.length; i++) shape[i] = ne[ne.length - 1 - i];
        return shape;
    }

    public long elementCount() {
        long n = 1;
        for (long d : ne) n = Math.multiplyExact(n, d);
        return n;
    }

    public long byteSize() {
        return type.byteSize(elementCount());
    }

    @Override
    public String toString() {
        return name + " " + type + " ne=" + Arrays.toString(ne) + " @" + dataOffset;
    }
}
