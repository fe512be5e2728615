package io.minference.sparse.gpu;

import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * Mean-pools 64-row blocks for block-sparse estimation: y below {@code slots} pools the queries of block-sparse
 * head slot y into {@code pooledQ[(y * blocks + b) * d + e]}; y = slots + h pools KV head h's keys into
 * {@code pooledK[(h * blocks + b) * d + e]}. The last block averages the rows it has.
 * <p>Parameters: {@code q, k} (bf16), {@code params} (int32 {@link HeadParameters}), {@code pooledQ, pooledK}
 * (f32), {@code firstHead, numHeads, numKvHeads, length, slots} (u32). Launch: grid (query blocks, slots +
 * numKvHeads), {@link #THREADS} threads.
 */
public record BlockPool(int headDim) implements KernelDefinition {
    public static final int THREADS = 128;

    @Override
    public String entryName() {
        return "block_sparse_pool_d" + headDim;
    }

    @Override
    public void define(KernelBuilder k) {
        U64 q = k.pointerParam("q");
        U64 keys = k.pointerParam("k");
        U64 params = k.pointerParam("params");
        U64 pooledQ = k.pointerParam("pooledQ");
        U64 pooledK = k.pointerParam("pooledK");
        U32 firstHead = k.u32Param("firstHead");
        U32 numHeads = k.u32Param("numHeads");
        U32 numKvHeads = k.u32Param("numKvHeads");
        U32 length = k.u32Param("length");
        U32 slots = k.u32Param("slots");
        k.maxThreadsPerBlock(THREADS);
        U32 tid = k.threadIdx();
        U32 b = k.blockIdx();
        U32 blocks = k.gridDim();
        U32 y = k.blockIdx(Axis.Y);
        U32 m0 = k.shl(b, 6);
        U32 m1 = k.min(k.add(m0, 64), length);
        F32 rows = k.toF32(k.sub(m1, m0));
        k.ifElse(k.lt(y, slots), () -> {
            U32 code = k.loadU32(k.element(params, k.mul(y, HeadParameters.STRIDE), 4));
            k.ifThen(k.eq(code, HeadParameters.BLOCK_SPARSE), () -> pool(k, q, numHeads, k.add(firstHead, y), m0,
                    m1, rows, k.mad(y, blocks, b), pooledQ, tid));
        }, () -> {
            U32 kvHead = k.sub(y, slots);
            pool(k, keys, numKvHeads, kvHead, m0, m1, rows, k.mad(kvHead, blocks, b), pooledK, tid);
        });
    }

    private void pool(KernelBuilder k, U64 source, U32 headsPerRow, U32 head, U32 m0, U32 m1, F32 rows,
                      U32 outRow, U64 out, U32 tid) {
        k.loop(tid, k.u32(headDim), THREADS, e -> {
            F32 sum = k.var("sum", k.f32(0));
            k.loop(m0, m1, 1, row -> {
                U32 element = k.mad(k.mad(row, headsPerRow, head), k.u32(headDim), e);
                k.set(sum, k.add(sum, k.bf16ToF32(k.loadB16(k.element(source, element, 2)))));
            });
            k.store(k.element(out, k.mad(outRow, k.u32(headDim), e), 4), k.div(sum, rows));
        });
    }
}
