package io.minference.kernels.flash;

import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

import static io.minference.ptx.dsl.Address.global;

/**
 * One warp attending one query row to a run of keys in f32, for any head dim: lane l owns dimensions
 * {@code l, l + 32, ...} of the query and of the output accumulator; each key's score is a warp-wide sum, and the
 * softmax runs online in exp2 (the query is pre-scaled by {@code scale}, which includes log2 e). Simple and exact
 * enough to be the reference-shaped fallback and the per-split worker of decode.
 */
final class WarpRowAttention {
    private final int headDim;
    private final U32[] rawDims;
    private final U32[] dims;
    private final F32[] query;
    private final F32 max;
    private final F32 sum;
    private final F32[] acc;

    /** Reads the query row at {@code qRow} (bf16, the head's first element) scaled by {@code scale}. */
    WarpRowAttention(KernelBuilder k, int headDim, U32 lane, U64 qRow, F32 scale) {
        this.headDim = headDim;
        int perLane = (headDim + 31) / 32;
        rawDims = new U32[perLane];
        dims = new U32[perLane];
        query = new F32[perLane];
        acc = new F32[perLane];
        for (int r = 0; r < perLane; r++) {
            U32 dim = k.add(lane, 32L * r);
            rawDims[r] = dim;
            // Lanes past the head dim read a real element (the last) and weigh it by 0, so no load leaves the row.
            dims[r] = headDim % 32 == 0 ? dim : k.min(dim, k.u32(headDim - 1));
            F32 value = k.mul(element(k, qRow, r), scale);
            query[r] = headDim % 32 == 0 ? value : k.select(k.lt(dim, k.u32(headDim)), value, k.f32(0));
            acc[r] = k.var("acc", k.f32(0));
        }
        max = k.var("runMax", k.f32(Float.NEGATIVE_INFINITY));
        sum = k.var("runSum", k.f32(0));
    }

    private F32 element(KernelBuilder k, U64 row, int r) {
        return k.bf16ToF32(k.loadB16(global(k.add(row, k.mulWide(dims[r], 2)))));
    }

    /** Attends keys {@code [firstKey, endKey)} of the head whose key and value rows start at kHead and vHead. */
    void attend(KernelBuilder k, U64 kHead, U64 vHead, U32 kvRowBytes, U32 firstKey, U32 endKey) {
        k.loop(firstKey, endKey, 1, key -> {
            U64 offset = k.mulWide(key, kvRowBytes);
            U64 kRow = k.add(kHead, offset);
            F32 dot = k.mul(query[0], element(k, kRow, 0));
            for (int r = 1; r < query.length; r++) {
                dot = k.mad(query[r], element(k, kRow, r), dot);
            }
            for (int mask = 16; mask >= 1; mask /= 2) {
                dot = k.add(dot, k.shuffleXor(dot, mask));
            }
            F32 newMax = k.max(max, dot);
            F32 rescale = k.ex2(k.sub(max, newMax));
            F32 p = k.ex2(k.sub(dot, newMax));
            k.set(max, newMax);
            k.set(sum, k.mad(sum, rescale, p));
            U64 vRow = k.add(vHead, offset);
            for (int r = 0; r < acc.length; r++) {
                k.set(acc[r], k.mad(acc[r], rescale, k.mul(p, element(k, vRow, r))));
            }
        });
    }

    /** The running maximum (log2 units; -inf before the first key). */
    F32 max() {
        return max;
    }

    /** The running sum of 2^(score - max). */
    F32 sum() {
        return sum;
    }

    /**
     * Hands each of the lane's dimensions that lies inside the head to {@code sink}, with its accumulated
     * (unnormalized) output value; lanes past the head dim hand over nothing.
     */
    void forEachDimension(KernelBuilder k, DimensionSink sink) {
        for (int r = 0; r < acc.length; r++) {
            int slot = r;
            if (32 * (r + 1) <= headDim) {
                sink.accept(dims[slot], acc[slot]);
            } else {
                k.ifThen(k.lt(rawDims[slot], k.u32(headDim)), () -> sink.accept(dims[slot], acc[slot]));
            }
        }
    }

    /** Receives one lane's dimension index and its accumulated output value. */
    interface DimensionSink {
        void accept(U32 dimension, F32 value);
    }
}
