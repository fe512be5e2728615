package io.minference.kernels.flash;

import io.minference.kernels.attention.AttentionShape;
import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.TensorMapParam;
import io.minference.runtime.cuda.CudaDriver;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DevicePointer;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.LaunchShape;
import io.minference.runtime.cuda.TensorMap;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * Causal flash attention for prefill on Hopper (sm_90a): bf16 in and out, f32 accumulation, head dimension 64 or
 * 128, the same layout and results as {@link FlashPrefill}. It is {@link HopperFlashLoop} (FlashAttention-3's
 * warp-specialised wgmma/TMA loop) with one consumer warpgroup per 64 of the block's {@code blockM} query rows of
 * one head, over the {@link CausalKeySource}: the key tiles below the block's diagonal unmasked, then the ones that
 * cross it, masked, each loaded whole by one TMA thread.
 * <p>Parameters: {@code q, k, v} (tensor maps, {@link TensorMap#headRows} views of the
 * token-major tensors: Q with {@code count} rows and a box of {@code blockM}, K and V with {@code start + count}
 * rows and a box of {@code blockN}), {@code o} (u64), {@code count}, {@code start}, {@code numHeads},
 * {@code numKvHeads} (u32), {@code scale} (f32, 1/sqrt(d) * log2 e). Launch: grid
 * {@code (numHeads, ceil(count / blockM))}, block {@link #threads()}, dynamic shared memory {@link #sharedBytes()};
 * query blocks run last-first, as in {@link FlashPrefill}.
 *
 * @param blockM query rows per block: {@value #BLOCK_M} (two consumer warpgroups sharing each K and V tile, one
 *               block per SM: what the runtime launches), or 64 (one consumer warpgroup, two blocks per SM: the
 *               geometry of the sparse Hopper kernel, whose index is per 64 query rows, so that a benchmark can
 *               tell what that geometry costs on the causal tiles from what the index costs)
 */
public record HopperFlashPrefill(int headDim, int blockM, int blockN, int stages, HopperFlashLoop.Schedule schedule)
        implements KernelDefinition {
    /** Query rows per block of the tuned shape: two consumer warpgroups of 64. */
    public static final int BLOCK_M = 128;
    private static final int CONSUMER_ROWS = 64;

    /** {@value #BLOCK_M} query rows a block. */
    public HopperFlashPrefill(int headDim, int blockN, int stages, HopperFlashLoop.Schedule schedule) {
        this(headDim, BLOCK_M, blockN, stages, schedule);
    }

    /** {@value #BLOCK_M} query rows a block, with the plain schedule. */
    public HopperFlashPrefill(int headDim, int blockN, int stages) {
        this(headDim, blockN, stages, HopperFlashLoop.Schedule.PLAIN);
    }

    public HopperFlashPrefill {
        if (blockM != BLOCK_M && blockM != CONSUMER_ROWS) {
            throw new IllegalArgumentException("the Hopper prefill takes " + BLOCK_M + " or " + CONSUMER_ROWS
                    + " query rows a block, not " + blockM);
        }
        loop(headDim, blockM, blockN, stages, schedule).checkSharedMemory(0);
    }

    private static HopperFlashLoop loop(int headDim, int blockM, int blockN, int stages,
                                        HopperFlashLoop.Schedule schedule) {
        return new HopperFlashLoop(headDim, blockM / CONSUMER_ROWS, blockN, stages, schedule);
    }

    private HopperFlashLoop loop() {
        return loop(headDim, blockM, blockN, stages, schedule);
    }

    /** One producer warpgroup and a consumer warpgroup per 64 query rows. */
    public int threads() {
        return loop().threads();
    }

    /** The tuned shape for a head dim: 128-key tiles, in 2 stages for d 128 and 3 for d 64. */
    public static HopperFlashPrefill forHeadDim(int headDim) {
        return new HopperFlashPrefill(headDim, 128, headDim == 128 ? 2 : 3);
    }

    public int sharedBytes() {
        return loop().sharedBytes(0);
    }

    /** Query blocks of a launch over {@code count} queries (the grid's y). */
    public int queryBlocks(int count) {
        return (count + blockM - 1) / blockM;
    }

    /**
     * Queues one launch of {@code kernel} (this specialization, loaded) over the first {@code gridHeads} heads: encodes
     * the three tensor maps (they hold the tensors' addresses and valid lengths, so they are encoded per call, a few
     * microseconds; K and V rows past {@code start + count} read as zeros, never as whatever the cache holds there).
     */
    public void launch(Kernel kernel, CudaStream stream, DevicePointer q, DevicePointer k, DevicePointer v,
                       DevicePointer out, int count, int start, AttentionShape shape, int gridHeads, float scale) {
        var driver = CudaDriver.get();
        TensorMap qMap = TensorMap.headRows(driver, q, count, shape.numHeads(), headDim, blockM);
        TensorMap kMap = TensorMap.headRows(driver, k, (long) start + count, shape.numKvHeads(), headDim, blockN);
        TensorMap vMap = TensorMap.headRows(driver, v, (long) start + count, shape.numKvHeads(), headDim, blockN);
        kernel.withShape(new LaunchShape(gridHeads, queryBlocks(count), 1, threads(), 1, 1)).launch(stream, qMap, kMap,
                vMap, out, count, start, shape.numHeads(), shape.numKvHeads(), scale);
    }

    @Override
    public String entryName() {
        return "flash_prefill_sm90a_bf16_d%d_m%d_n%d_s%d%s".formatted(headDim, blockM, blockN, stages,
                schedule.suffix());
    }

    @Override
    public PtxTarget minimumTarget() {
        return PtxTarget.SM_90A;
    }

    @Override
    public void define(KernelBuilder k) {
        TensorMapParam qMap = k.tensorMapParam("q");
        TensorMapParam kMap = k.tensorMapParam("k");
        TensorMapParam vMap = k.tensorMapParam("v");
        U64 o = k.pointerParam("o");
        U32 count = k.u32Param("count");
        U32 start = k.u32Param("start");
        U32 numHeads = k.u32Param("numHeads");
        U32 numKvHeads = k.u32Param("numKvHeads");
        F32 scale = k.f32Param("scale");
        k.describe("causal flash attention on wgmma and TMA, head dim " + headDim + ", " + blockM + " queries x "
                + blockN + " keys per step, " + stages + " stages, 1 producer + " + blockM / CONSUMER_ROWS
                + " consumer warpgroups");

        U32 head = k.blockIdx(Axis.X).named("head");
        U32 queryBlock = k.sub(k.sub(k.gridDim(Axis.Y), 1), k.blockIdx(Axis.Y)).named("queryBlock");
        U32 kvHead = k.div(head, k.div(numHeads, numKvHeads)).named("kvHead");
        U32 firstRow = k.mul(queryBlock, blockM).named("firstRow");
        U32 rowsHere = k.min(k.sub(count, firstRow), k.u32(blockM)).named("rowsHere");
        U32 firstPosition = k.add(start, firstRow).named("firstPosition");
        loop().emit(k, new HopperFlashLoop.Block(qMap, head, firstRow, rowsHere, firstPosition,
                o, numHeads, scale), new CausalKeySource(blockN, kMap, vMap, kvHead, firstPosition, rowsHere));
    }
}
