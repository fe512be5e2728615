package io.minference.kernels.samples;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.B32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * Copies 16-byte chunks global -> shared with {@code cp.async} (one commit group per pass, then
 * {@code cp.async.wait_group 0} and {@code bar.sync}), then shared -> global with each thread storing the chunk its
 * neighbour fetched, so a missing wait or barrier shows up as wrong data. Result: {@code dst == src} for the first
 * {@code chunks * 16} bytes.
 * <p>Parameters: {@code src, dst} (u64 pointers, 16-byte aligned), {@code chunks} (u32, number of 16-byte chunks).
 * Launch: block {@value #BLOCK} threads, grid {@code ceil(chunks / (BLOCK * PASSES))}, dynamic shared memory
 * {@link #SHARED_BYTES} bytes.
 */
public record AsyncCopy() implements KernelDefinition {
    public static final int BLOCK = 128;
    public static final int PASSES = 4;
    public static final int SHARED_BYTES = BLOCK * PASSES * 16;

    @Override
    public String entryName() {
        return "async_copy_16b";
    }

    @Override
    public void define(KernelBuilder k) {
        U64 src = k.pointerParam("src");
        U64 dst = k.pointerParam("dst");
        U32 chunks = k.u32Param("chunks");
        k.maxThreadsPerBlock(BLOCK);
        U32 staging = k.dynamicShared(SHARED_BYTES);
        U32 tid = k.threadIdx();
        U32 first = k.mul(k.blockIdx(), BLOCK * PASSES).named("first");
        U32 neighbour = k.and(k.add(tid, 1), BLOCK - 1).named("neighbour");
        for (int pass = 0; pass < PASSES; pass++) {
            U32 slot = k.add(tid, pass * BLOCK);
            U32 chunk = k.add(first, slot);
            k.ifThen(k.lt(chunk, chunks), () ->
                    k.copyAsync(k.element(staging, slot, 16), k.element(src, chunk, 16), 16));
            k.commitGroup();
        }
        k.waitGroups(0);
        k.barrier();
        for (int pass = 0; pass < PASSES; pass++) {
            U32 slot = k.add(neighbour, pass * BLOCK);
            U32 chunk = k.add(first, slot);
            k.ifThen(k.lt(chunk, chunks), () -> {
                B32[] bytes = k.loadB32x4(k.element(staging, slot, 16));
                k.storeVector(k.element(dst, chunk, 16), bytes);
            });
        }
    }
}
