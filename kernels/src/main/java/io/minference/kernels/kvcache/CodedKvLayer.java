package io.minference.kernels.kvcache;

import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.DeviceTensor;

import java.util.Objects;

/**
 * One layer's 8-bit KV cache on the device, in the layout of {@link io.minference.kernels.kvcache}: codes (of
 * {@link #codes()}'s format), scales and the bf16 tail, for K and for V.
 */
public final class CodedKvLayer implements AutoCloseable {
    private final int capacity;
    private final int numKvHeads;
    private final int headDim;
    private final KvCodes codes;
    private final DeviceTensor[] tensors = new DeviceTensor[6];

    /** Allocates the layer's buffers for {@code capacity} positions (freeing what was allocated if one fails). */
    public CodedKvLayer(CudaContext context, KvCodes codes, int capacity, int numKvHeads, int headDim) {
        if (capacity < 1 || numKvHeads < 1 || headDim % 8 != 0 || headDim < 8) {
            throw new IllegalArgumentException("an 8-bit KV layer needs a positive capacity and KV heads and a head"
                    + " size that is a multiple of 8; got " + capacity + ", " + numKvHeads + ", " + headDim);
        }
        this.capacity = capacity;
        this.numKvHeads = numKvHeads;
        this.headDim = headDim;
        this.codes = Objects.requireNonNull(codes, "codes");
        int kvDim = numKvHeads * headDim;
        try {
            KvScaleGroup[] groups = {KvScaleGroup.KEYS, KvScaleGroup.VALUES};
            for (int kv = 0; kv < 2; kv++) {
                tensors[kv] = DeviceTensor.allocate(context, DType.U8, capacity, kvDim);
                tensors[2 + kv] = DeviceTensor.allocate(context, DType.F32, blocks(capacity),
                        groups[kv].perRow(codes, numKvHeads, headDim));
                tensors[4 + kv] = DeviceTensor.allocate(context, DType.BF16, CodedBlocks.BLOCK_TOKENS, kvDim);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Blocks of a cache of {@code capacity} positions, the last one possibly partial. */
    public static int blocks(int capacity) {
        return (capacity + CodedBlocks.BLOCK_TOKENS - 1) / CodedBlocks.BLOCK_TOKENS;
    }

    /** Device bytes of one layer's 8-bit cache of {@code codes} (K and V) of {@code capacity} positions. */
    public static long bytes(KvCodes codes, int capacity, int numKvHeads, int headDim) {
        long kvDim = (long) numKvHeads * headDim;
        return 2 * ((long) capacity * kvDim + 2L * CodedBlocks.BLOCK_TOKENS * kvDim)
                + scaleBytes(codes, capacity, numKvHeads, headDim);
    }

    /** Bytes of one layer's scales (K and V) of {@code codes} for {@code capacity} positions. */
    public static long scaleBytes(KvCodes codes, int capacity, int numKvHeads, int headDim) {
        long perBlock = KvScaleGroup.KEYS.perRow(codes, numKvHeads, headDim)
                + KvScaleGroup.VALUES.perRow(codes, numKvHeads, headDim);
        return 4L * blocks(capacity) * perBlock;
    }

    public int capacity() {
        return capacity;
    }

    public int numKvHeads() {
        return numKvHeads;
    }

    public int headDim() {
        return headDim;
    }

    /** The format of the codes. */
    public KvCodes codes() {
        return codes;
    }

    /** Key codes, u8 [capacity][kvDim]. */
    public DeviceTensor keyCodes() {
        return tensors[0];
    }

    public DeviceTensor valueCodes() {
        return tensors[1];
    }

    /** Key scales, f32 [blocks][{@link KvScaleGroup#perRow}]: int8 a scale per 16 channels, e4m3 per head. */
    public DeviceTensor keyScales() {
        return tensors[2];
    }

    /** Value scales, f32 [blocks][numKvHeads] ({@link KvScaleGroup#VALUES}). */
    public DeviceTensor valueScales() {
        return tensors[3];
    }

    /** The partial block's keys, bf16 [64][kvDim], position p at row p mod 64. */
    public DeviceTensor keyTail() {
        return tensors[4];
    }

    public DeviceTensor valueTail() {
        return tensors[5];
    }

    @Override
    public void close() {
        for (DeviceTensor t : tensors) if (t != null) t.close();
    }
}
