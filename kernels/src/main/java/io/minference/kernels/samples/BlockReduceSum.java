package io.minference.kernels.samples;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * The sum of each block's slice of an f32 vector, by a tree reduction in static shared memory with
 * {@code bar.sync} between levels: {@code out[b] = x[b * block] + ... + x[b * block + block - 1]}, values past
 * {@code n} counting as zero.
 * <p>Parameters: {@code x, out} (u64 pointers to f32), {@code n} (u32). Launch: block {@code block} threads (the
 * specialization, a power of two), grid {@code ceil(n / block)}, no dynamic shared memory; {@code out} holds one
 * float per block.
 *
 * @param block threads per block, a power of two from 32 to 1024
 */
public record BlockReduceSum(int block) implements KernelDefinition {
    public BlockReduceSum {
        if (block < 32 || block > 1024 || Integer.bitCount(block) != 1) {
            throw new IllegalArgumentException("block must be a power of two in 32..1024, got " + block);
        }
    }

    @Override
    public String entryName() {
        return "block_reduce_sum_f32_" + block;
    }

    @Override
    public void define(KernelBuilder k) {
        U64 x = k.pointerParam("x");
        U64 out = k.pointerParam("out");
        U32 n = k.u32Param("n");
        k.maxThreadsPerBlock(block);
        U32 partials = k.sharedArray("partials", block * 4);
        U32 tid = k.threadIdx();
        U32 i = k.mad(k.blockIdx(), k.u32(block), tid).named("i");
        F32 value = k.var("value", k.f32(0));
        k.ifThen(k.lt(i, n), () -> k.set(value, k.loadF32(k.element(x, i, 4))));
        Address mine = k.element(partials, tid, 4);
        k.store(mine, value);
        k.barrier();
        for (int half = block / 2; half >= 1; half /= 2) {
            int h = half;
            k.ifThen(k.lt(tid, h), () -> k.store(mine, k.add(k.loadF32(mine), k.loadF32(mine.plus(h * 4L)))));
            k.barrier();
        }
        k.ifThen(k.eq(tid, 0), () -> k.store(k.element(out, k.blockIdx(), 4), k.loadF32(mine)));
    }
}
