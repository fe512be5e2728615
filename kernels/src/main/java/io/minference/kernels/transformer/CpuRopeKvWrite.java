package io.minference.kernels.transformer;

import io.minference.kernels.cpu.Rope;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;

/**
 * The CPU twin of {@link RopeKvWrite}, on host bf16 tensors with the same layouts: splits each fused QKV row into
 * Q, K and V, turns Q and K with {@link Rope} (angles in double) in f32, and rounds the results to bf16 once.
 */
public final class CpuRopeKvWrite {
    private static final String NAME = "RoPE + KV write";

    private final RopeKvWrite shape;
    private final Rope rope;

    public CpuRopeKvWrite(RopeKvWrite shape, Rope rope) {
        if (rope.headDim() != shape.headDim()) {
            throw new IllegalArgumentException(NAME + ": RoPE of head size " + rope.headDim() + " for heads of "
                    + shape.headDim());
        }
        this.shape = shape;
        this.rope = rope;
    }

    /** Rows 0 .. tokens-1 of {@code qkv} at positions start ..: Q into {@code q}, K and V into the caches. */
    public void apply(Tensor qkv, int tokens, int start, Tensor q, Tensor kCache, Tensor vCache) {
        int qWidth = shape.qWidth(), kvWidth = shape.kvWidth(), rowWidth = shape.rowWidth();
        long capacity = kCache.elementCount() / kvWidth;
        if (tokens <= 0 || start < 0 || start + tokens > capacity) {
            throw new IllegalArgumentException(NAME + ": " + tokens + " tokens from position " + start
                    + " do not fit a KV cache of " + capacity + " rows");
        }
        Bf16Host.require(qkv, NAME, "qkv", (long) tokens * rowWidth);
        Bf16Host.require(q, NAME, "q", (long) tokens * qWidth);
        Bf16Host.require(kCache, NAME, "kCache", capacity * kvWidth);
        Bf16Host.require(vCache, NAME, "vCache", capacity * kvWidth);
        try (Tensor qf = Tensor.allocate(DType.F32, tokens, qWidth);
             Tensor kf = Tensor.allocate(DType.F32, tokens, kvWidth)) {
            for (int t = 0; t < tokens; t++) {
                long row = (long) t * rowWidth;
                for (int j = 0; j < qWidth; j++) qf.setFloat((long) t * qWidth + j, Bf16Host.get(qkv, row + j));
                for (int j = 0; j < kvWidth; j++) {
                    kf.setFloat((long) t * kvWidth + j, Bf16Host.get(qkv, row + qWidth + j));
                }
            }
            rope.apply(qf, tokens, start);
            rope.apply(kf, tokens, start);
            for (int t = 0; t < tokens; t++) {
                long row = (long) t * rowWidth;
                long cacheRow = (long) (start + t) * kvWidth;
                for (int j = 0; j < qWidth; j++) Bf16Host.set(q, (long) t * qWidth + j, qf.getFloat((long) t * qWidth + j));
                for (int j = 0; j < kvWidth; j++) {
                    Bf16Host.set(kCache, cacheRow + j, kf.getFloat((long) t * kvWidth + j));
                    Bf16Host.set(vCache, cacheRow + j, Bf16Host.get(qkv, row + qWidth + kvWidth + j));
                }
            }
        }
    }
}
