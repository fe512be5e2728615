package io.minference.kernels.flash;

import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

import static io.minference.ptx.dsl.Address.global;

/**
 * Decode attention, split-K: one query token per head (position {@code length - 1}) against the first
 * {@code length} cache rows, the keys cut into splits of {@code keysPerSplit} that warps of many blocks attend
 * independently ({@link WarpRowAttention}), each writing a partial result; {@link FlashDecodeCombine} merges them.
 * Any head dim; query head h reads KV head h / (numHeads / numKvHeads) in place.
 * <p>Parameters: {@code q} (u64, bf16 [numHeads, d]), {@code k, v} (u64, bf16 caches [capacity, numKvHeads, d]),
 * {@code partials} (u64, f32 workspace of {@link #workspaceBytes}), {@code length}, {@code numHeads},
 * {@code numKvHeads} (u32), {@code scale} (f32, 1/sqrt(d) * log2 e), {@code keysPerSplit} (u32). Launch: grid
 * {@code (numHeads, splitBlocks)}, block {@link #THREADS}; the splits are {@code splitBlocks * SPLITS_PER_BLOCK}.
 * <p>Workspace: for partial {@code p = head * splits + split}, the unnormalized output at floats
 * {@code [p * d, p * d + d)}, then after all of those, its running maximum (log2 units) and sum at floats
 * {@code numHeads * splits * d + 2p} and {@code + 1}. An empty split writes max -inf, sum 0 and a zero output.
 * <p>With {@code lengthOnDevice}, {@code length} gives way to {@code lengthAt} (u64, a u32 in device memory read
 * at run time) and {@code keysPerSplit} is dropped: each split takes {@code ceil(length / splits)} keys, so a CUDA
 * graph captured once, with the split count fixed for the cache's capacity, serves every decode length; the
 * splits past the length are empty and write the neutral partial that {@link FlashDecodeCombine} weighs by 0.
 *
 * @param headDim        head size, 1 to 1024
 * @param lengthOnDevice whether the cache length is read from device memory rather than passed by value
 */
public record FlashDecode(int headDim, boolean lengthOnDevice) implements KernelDefinition {
    public static final int THREADS = 128;
    public static final int SPLITS_PER_BLOCK = THREADS / 32;

    public FlashDecode {
        if (headDim < 1 || headDim > 1024) {
            throw new IllegalArgumentException("head dim must be 1..1024, got " + headDim);
        }
    }

    /** The length and keys per split passed by value. */
    public FlashDecode(int headDim) {
        this(headDim, false);
    }

    /** Bytes of workspace for {@code numHeads} heads of {@code splits} splits. */
    public long workspaceBytes(int numHeads, int splits) {
        return 4L * numHeads * splits * (headDim + 2);
    }

    @Override
    public String entryName() {
        return "flash_decode_split_bf16_d" + headDim + (lengthOnDevice ? "_length_on_device" : "");
    }

    @Override
    public void define(KernelBuilder k) {
        DecodeSplit d = DecodeSplit.declare(k, headDim, lengthOnDevice, SPLITS_PER_BLOCK);
        k.maxThreadsPerBlock(THREADS);
        k.describe("split-K decode attention, head dim " + headDim + ", one warp per split"
                + (lengthOnDevice ? ", length read from device memory" : ""));

        U32 lane = k.and(k.threadIdx(), 31).named("lane");
        U32 head = k.blockIdx(Axis.X).named("head");
        U32 kvHead = k.div(head, k.div(d.numHeads(), d.numKvHeads())).named("kvHead");
        U64 q = d.q(), kCache = d.k(), vCache = d.v(), partials = d.partials();
        U32 numHeads = d.numHeads(), split = d.split(), splits = d.splits();
        F32 scale = d.scale();
        U32 kvRowBytes = d.kvRowBytes(), firstKey = d.firstKey(), endKey = d.endKey();

        WarpRowAttention attention = new WarpRowAttention(k, headDim, lane,
                k.add(q, k.mulWide(head, 2L * headDim)), scale);
        attention.attend(k, k.add(kCache, k.mulWide(kvHead, 2L * headDim)),
                k.add(vCache, k.mulWide(kvHead, 2L * headDim)), kvRowBytes, firstKey, endKey);

        U32 partial = k.mad(head, splits, split).named("partial");
        U64 output = k.add(partials, k.mulWide(partial, 4L * headDim)).named("partialOut");
        attention.forEachDimension(k, (dim, value) -> k.store(global(k.add(output, k.mulWide(dim, 4))), value));
        U64 stats = k.add(k.add(partials, k.mulWide(k.mul(numHeads, splits), 4L * headDim)),
                k.mulWide(partial, 8)).named("partialStats");
        k.ifThen(k.eq(lane, 0), () -> k.storeVector(global(stats), attention.max(), attention.sum()));
    }
}
