package io.minference.kernels.kvcache;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * A kernel fragment: the CTA's threads quantize one KV head's block of {@link CodedBlocks#BLOCK_TOKENS} bf16 rows into
 * codes and the block's scales of that head, one per {@code channels} channels ({@link KvScaleGroup}), as
 * {@link CodedBlocks#quantize} does on the CPU. Thread t reads the chunks of 8 values t, t + threads, ..., all in
 * one column of chunks (threads is a multiple of the chunks in a row), so each thread serves one scale: each scale's
 * amax is reduced over the warp's lanes of its channels (shuffles), then over the warps (shared memory), the scale
 * stored by the scale's first lane of warp 0, and every chunk divided by its scale, encoded and stored as 8 bytes.
 * Every thread of the CTA must run it (it has barriers).
 *
 * @param format   the code format
 * @param threads  the CTA's threads, a multiple of 32 and of {@code headDim / 8}
 * @param headDim  head size: a multiple of {@code channels}, at most 256
 * @param channels channels per scale, a multiple of 8
 */
public record BlockQuantize(KvCodes format, int threads, int headDim, int channels) {
    public BlockQuantize {
        int chunksPerRow = headDim / 8;
        if (channels % 8 != 0 || headDim % channels != 0 || chunksPerRow > 32 || threads % 32 != 0
                || threads % chunksPerRow != 0 || Integer.bitCount(chunksPerRow) != 1
                || Integer.bitCount(channels / 8) != 1) {
            throw new IllegalArgumentException("block quantization needs a power-of-two head of at most 256 in groups"
                    + " of a power of two of 8 channels, and threads a multiple of 32 and of its chunks of 8; got "
                    + this);
        }
    }

    /** The fragment for one of the cache's scale groupings. */
    public static BlockQuantize of(KvCodes format, int threads, int headDim, KvScaleGroup group) {
        return new BlockQuantize(format, threads, headDim, group.channels(format, headDim));
    }

    /**
     * Where KV head {@code head}'s first scale of block {@code block} lies in a layer's scales of this grouping
     * ({@code [blocks][numKvHeads · headDim / channels]}): the {@code scales} argument of {@link #emit}.
     */
    public U64 firstScale(KernelBuilder k, U64 scales, U32 block, U32 head, int numKvHeads) {
        U32 index = k.mul(k.mad(block, k.u32(numKvHeads), head), headDim / channels);
        return k.add(scales, k.mulWide(index, 4));
    }

    /** Shared memory the fragment needs for its scratch: a float per warp and scale. */
    public int scratchBytes() {
        return threads / 32 * (headDim / channels) * 4;
    }

    /**
     * Emits the fragment.
     *
     * @param source    the block's first row at this head's columns (bf16, 16-byte aligned)
     * @param sourceRow bytes between source rows
     * @param codes     the block's first row of codes at this head's columns (8-byte aligned)
     * @param codesRow  bytes between code rows
     * @param scales    this block's first scale of this head (its {@code headDim / channels} follow)
     * @param scratch   {@link #scratchBytes} of shared memory
     */
    public void emit(KernelBuilder k, U64 source, U32 sourceRow, U64 codes, U32 codesRow, U64 scales, U32 scratch) {
        int chunksPerRow = headDim / 8, chunksPerScale = channels / 8, scalesPerHead = headDim / channels;
        int rowShift = Integer.numberOfTrailingZeros(chunksPerRow);
        U32 chunks = k.u32((long) CodedBlocks.BLOCK_TOKENS * chunksPerRow);
        U32 tid = k.threadIdx();
        U32 lane = k.and(tid, 31);
        U32 column = k.and(tid, chunksPerRow - 1);
        U32 scale = k.shr(column, Integer.numberOfTrailingZeros(chunksPerScale)).named("scaleOfThread");
        F32 amax = k.var("amax", k.f32(0));
        k.loop(tid, chunks, threads, c -> {
            for (F32 v : KvCodeOps.loadChunk(k, source, sourceRow, c, rowShift, chunksPerRow)) {
                k.set(amax, k.max(amax, k.abs(v)));
            }
        });
        // lanes that differ in these bits read the same scale's channels (other rows, or its other chunks)
        for (int mask = 16; mask >= 1; mask /= 2) {
            if (mask < chunksPerScale || mask >= chunksPerRow) k.set(amax, k.max(amax, k.shuffleXor(amax, mask)));
        }
        U32 warp = k.shr(tid, 5);
        k.ifThen(k.and(k.lt(lane, chunksPerRow), k.eq(k.and(lane, chunksPerScale - 1), 0)),
                () -> k.store(k.element(scratch, k.mad(warp, k.u32(scalesPerHead), scale), 4), amax));
        k.barrier();
        F32 scaleMax = k.loadF32(k.element(scratch, scale, 4));
        for (int w = 1; w < threads / 32; w++) {
            scaleMax = k.max(scaleMax, k.loadF32(k.element(scratch, k.add(scale, w * scalesPerHead), 4)));
        }
        k.barrier();
        F32 value = k.div(scaleMax, k.f32(format.max()));
        F32 divisor = k.select(k.eq(scaleMax, k.f32(0)), k.f32(1), value);
        k.ifThen(k.and(k.lt(tid, chunksPerRow), k.eq(k.and(tid, chunksPerScale - 1), 0)),
                () -> k.store(k.element(scales, scale, 4), value));
        k.loop(tid, chunks, threads, c -> {
            F32[] v = KvCodeOps.loadChunk(k, source, sourceRow, c, rowShift, chunksPerRow);
            U32 row = k.shr(c, rowShift);
            U64 at = k.add(k.add(codes, k.mulWide(row, codesRow)), k.mulWide(column, 8));
            k.storeVector(Address.global(at), KvCodeOps.encode4(k, format, v, 0, divisor),
                    KvCodeOps.encode4(k, format, v, 4, divisor));
        });
    }
}
