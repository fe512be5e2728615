package io.minference.kernels.flash;

import io.minference.kernels.KernelSettings;
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

import java.util.List;

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
 * @param persistent whether the launch is a grid of {@link HopperFlashLoop#blocksPerSm()} blocks per SM, block b
 *                   taking (head, query block) units b, b + grid, ... in turn, the last query blocks (the longest
 *                   rows) first ({@link HopperFlashLoop#persistent}); one more parameter, {@code heads} (u32, the
 *                   grid's heads of the non-persistent launch), and grid {@code (min(heads * queryBlocks,
 *                   blocksPerSm * SMs))}. The same outputs bit for bit.
 * @param cluster    whether neighbouring query blocks 2p and 2p + 1 of a head run as a cluster of two blocks that
 *                   share the key tiles both need, each fetched from L2 once and multicast into both blocks' shared
 *                   memory ({@link HopperFlashLoop#clusterPairs}, {@link ClusterCausalKeySource}): for 64-row blocks,
 *                   whose 64 x blockN steps are bound by L2 bandwidth. Grid {@code (numHeads, 2 ceil(queryBlocks /
 *                   2))}, clusters of {@code (1, 2, 1)}, the pairs last-first; with an odd number of query blocks the
 *                   last pair's second block has no rows: it takes part in the pair's barriers and writes nothing.
 *                   The same outputs bit for bit (each block sees its tiles in the same order); entry-name suffix
 *                   {@code _cluster2}
 */
public record HopperFlashPrefill(int headDim, int blockM, int blockN, int stages, HopperFlashLoop.Schedule schedule,
                                 boolean persistent, boolean cluster) implements KernelDefinition {
    /** Query rows per block of the tuned shape: two consumer warpgroups of 64. */
    public static final int BLOCK_M = 128;
    /**
     * The system property saying whether the dense Hopper prefill the runtime launches runs persistent blocks,
     * {@code true} or {@code false} (the default), for measuring them ({@link #persistent}).
     */
    public static final String PERSISTENT_PROPERTY = "minference.attention.persistent";
    private static final int CONSUMER_ROWS = 64;

    /** Blocks on their own, without clusters. */
    public HopperFlashPrefill(int headDim, int blockM, int blockN, int stages, HopperFlashLoop.Schedule schedule,
                              boolean persistent) {
        this(headDim, blockM, blockN, stages, schedule, persistent, false);
    }

    /** A block a query block. */
    public HopperFlashPrefill(int headDim, int blockM, int blockN, int stages, HopperFlashLoop.Schedule schedule) {
        this(headDim, blockM, blockN, stages, schedule, false);
    }

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
        loop(headDim, blockM, blockN, stages, schedule, persistent, cluster).checkSharedMemory(0);
    }

    private static HopperFlashLoop loop(int headDim, int blockM, int blockN, int stages,
                                        HopperFlashLoop.Schedule schedule, boolean persistent, boolean cluster) {
        return new HopperFlashLoop(headDim, blockM / CONSUMER_ROWS, blockN, stages, schedule, false, persistent,
                cluster);
    }

    private HopperFlashLoop loop() {
        return loop(headDim, blockM, blockN, stages, schedule, persistent, cluster);
    }

    /** One producer warpgroup and a consumer warpgroup per 64 query rows. */
    public int threads() {
        return loop().threads();
    }

    /**
     * The tuned shape for a head dim: 128-key tiles in 3 stages; at d 128 with the {@code overlap,lazy} schedule (the
     * softmax of a step under the previous step's P·V, FlashAttention-3's intra-warpgroup overlap, and O rescaled
     * only where a row's maximum moved). The overlap holds a stage one step longer, so it needs the third stage: with
     * two it was 0.84x the plain kernel, with three it is 1.15-1.21x (660-668 against 574-575 TFLOP/s at 32K,
     * 657-675 against 560-569 at 128K, H100, session 20; BENCHMARKS.md, "The dense kernel's third stage"). d 64
     * keeps the plain schedule, not measured with the overlap.
     */
    public static HopperFlashPrefill forHeadDim(int headDim) {
        return headDim == 128 ? new HopperFlashPrefill(128, 128, 3, HopperFlashLoop.Schedule.parse("overlap,lazy"))
                : new HopperFlashPrefill(headDim, 128, 3);
    }

    /**
     * The tuned shape for a head dim, or where {@value #PERSISTENT_PROPERTY} says so the persistent kernel, which
     * takes no overlapped schedule: plain, in 2 stages at d 128 (the shape its GPU tests and timings ran) and 3 at
     * d 64.
     */
    public static HopperFlashPrefill configured(int headDim) {
        boolean persistent = KernelSettings.configured(PERSISTENT_PROPERTY, false, List.of(true, false),
                String::valueOf);
        return persistent ? new HopperFlashPrefill(headDim, BLOCK_M, 128, headDim == 128 ? 2 : 3,
                HopperFlashLoop.Schedule.PLAIN, true) : forHeadDim(headDim);
    }

    public int sharedBytes() {
        return loop().sharedBytes(0);
    }

    /** Query blocks of a launch over {@code count} queries. */
    public int queryBlocks(int count) {
        return (count + blockM - 1) / blockM;
    }

    /** The grid's y over {@code count} queries: the query blocks, rounded up to pairs with {@link #cluster}. */
    public int gridBlocks(int count) {
        int blocks = queryBlocks(count);
        return cluster ? (blocks + 1) / 2 * 2 : blocks;
    }

    /**
     * Queues one launch of {@code kernel} (this specialization, loaded) over the first {@code gridHeads} heads: encodes
     * the three tensor maps (they hold the tensors' addresses and valid lengths, so they are encoded per call, a few
     * microseconds; K and V rows past {@code start + count} read as zeros, never as whatever the cache holds there).
     * The scores' scale is {@link FlashAttention#log2Scale} of the head size, what every prefill takes.
     */
    public void launch(Kernel kernel, CudaStream stream, DevicePointer q, DevicePointer k, DevicePointer v,
                       DevicePointer out, int count, int start, AttentionShape shape, int gridHeads) {
        var driver = CudaDriver.get();
        float scale = FlashAttention.log2Scale(headDim);
        TensorMap qMap = TensorMap.headRows(driver, q, count, shape.numHeads(), headDim, blockM);
        TensorMap kMap = TensorMap.headRows(driver, k, (long) start + count, shape.numKvHeads(), headDim, blockN);
        TensorMap vMap = TensorMap.headRows(driver, v, (long) start + count, shape.numKvHeads(), headDim, blockN);
        if (persistent) {
            int grid = loop().persistentGrid(gridHeads * queryBlocks(count),
                    stream.context().device().multiprocessorCount());
            kernel.withShape(new LaunchShape(grid, 1, 1, threads(), 1, 1)).launch(stream, qMap, kMap, vMap, out, count,
                    start, shape.numHeads(), shape.numKvHeads(), scale, gridHeads);
            return;
        }
        kernel.withShape(new LaunchShape(gridHeads, gridBlocks(count), 1, threads(), 1, 1)).launch(stream, qMap, kMap,
                vMap, out, count, start, shape.numHeads(), shape.numKvHeads(), scale);
    }

    @Override
    public String entryName() {
        return "flash_prefill_sm90a_bf16_d%d_m%d_n%d_s%d%s%s%s".formatted(headDim, blockM, blockN, stages,
                schedule.suffix(), persistent ? "_persistent" : "", cluster ? "_cluster2" : "");
    }

    @Override
    public PtxTarget minimumTarget() {
        return PtxTarget.SM_90A;
    }

    @Override
    public void define(KernelBuilder k) {
        Params params = new Params(k.tensorMapParam("q"), k.tensorMapParam("k"), k.tensorMapParam("v"),
                k.pointerParam("o"), k.u32Param("count"), k.u32Param("start"), k.u32Param("numHeads"),
                k.u32Param("numKvHeads"), k.f32Param("scale"));
        k.describe("causal flash attention on wgmma and TMA, head dim " + headDim + ", " + blockM + " queries x "
                + blockN + " keys per step, " + stages + " stages, 1 producer + " + blockM / CONSUMER_ROWS
                + " consumer warpgroups");
        if (persistent) {
            definePersistent(k, params);
            return;
        }
        if (cluster) {
            defineCluster(k, params);
            return;
        }

        U32 head = k.blockIdx(Axis.X).named("head");
        U32 queryBlock = k.sub(k.sub(k.gridDim(Axis.Y), 1), k.blockIdx(Axis.Y)).named("queryBlock");
        HopperFlashLoop.Unit unit = unit(k, params, head, queryBlock);
        loop().emit(k, unit.block(), unit.source());
    }

    /** The kernel's parameters, declared in order. */
    private record Params(TensorMapParam qMap, TensorMapParam kMap, TensorMapParam vMap, U64 o, U32 count, U32 start,
                          U32 numHeads, U32 numKvHeads, F32 scale) {
    }

    /**
     * Persistent blocks: unit u is query block {@code queryBlocks - 1 - u / heads} of head {@code u mod heads}, so
     * that the units run longest first, every head's at a time; block b takes units b, b + grid, ... in turn.
     */
    private void definePersistent(KernelBuilder k, Params params) {
        U32 heads = k.u32Param("heads");
        U32 queryBlocks = k.div(k.add(params.count(), blockM - 1), blockM).named("queryBlocks");
        loop().emitPersistent(k, CausalKeySource.LAYOUT, HopperFlashLoop.Units.strided(
                k.mul(heads, queryBlocks).named("units"), (builder, place) -> {
                    U32 fromLast = builder.div(place, heads);
                    U32 head = builder.sub(place, builder.mul(fromLast, heads)).named("head");
                    U32 queryBlock = builder.sub(builder.sub(queryBlocks, 1), fromLast).named("queryBlock");
                    return unit(builder, params, head, queryBlock);
                }));
    }

    /**
     * Clusters of two blocks: grid y neighbours 2c and 2c + 1 are pair {@code pairs - 1 - c} (the pairs last-first),
     * the block of cluster rank r taking its query block {@code 2 pair + r}, with no rows where that is past the
     * last.
     */
    private void defineCluster(KernelBuilder k, Params params) {
        U32 head = k.blockIdx(Axis.X).named("head");
        U32 rank = k.clusterRank().named("rank");
        U32 pairs = k.shr(k.gridDim(Axis.Y), 1).named("pairs");
        U32 pair = k.sub(k.sub(pairs, 1), k.shr(k.blockIdx(Axis.Y), 1)).named("pair");
        U32 kvHead = k.div(head, k.div(params.numHeads(), params.numKvHeads())).named("kvHead");
        U32 pairFirstRow = k.mul(pair, 2 * blockM).named("pairFirstRow");
        U32 firstRow = k.mad(rank, k.u32(blockM), pairFirstRow).named("firstRow");
        U32 peerFirstRow = k.mad(k.xor(rank, 1), k.u32(blockM), pairFirstRow).named("peerFirstRow");
        U32 rowsHere = rowsFrom(k, params.count(), firstRow).named("rowsHere");
        U32 firstPosition = k.add(params.start(), firstRow).named("firstPosition");
        HopperKeySource source = ClusterCausalKeySource.of(k, blockN, params.kMap(), params.vMap(), kvHead, rank,
                firstPosition, rowsHere, k.add(params.start(), peerFirstRow),
                rowsFrom(k, params.count(), peerFirstRow).named("peerRows"));
        loop().emit(k, new HopperFlashLoop.Block(params.qMap(), head, firstRow, rowsHere, firstPosition, params.o(),
                params.numHeads(), params.scale()), source);
    }

    /** The valid rows of a block starting at query row {@code firstRow}: up to {@code blockM}, 0 past the end. */
    private U32 rowsFrom(KernelBuilder k, U32 count, U32 firstRow) {
        return k.select(k.lt(firstRow, count), k.min(k.sub(count, firstRow), k.u32(blockM)), k.u32(0));
    }

    /** The queries and the causal key source of query block {@code queryBlock} of head {@code head}. */
    private HopperFlashLoop.Unit unit(KernelBuilder k, Params params, U32 head, U32 queryBlock) {
        U32 kvHead = k.div(head, k.div(params.numHeads(), params.numKvHeads())).named("kvHead");
        U32 firstRow = k.mul(queryBlock, blockM).named("firstRow");
        U32 rowsHere = k.min(k.sub(params.count(), firstRow), k.u32(blockM)).named("rowsHere");
        U32 firstPosition = k.add(params.start(), firstRow).named("firstPosition");
        return new HopperFlashLoop.Unit(new HopperFlashLoop.Block(params.qMap(), head, firstRow, rowsHere,
                firstPosition, params.o(), params.numHeads(), params.scale()),
                new CausalKeySource(blockN, params.kMap(), params.vMap(), kvHead, firstPosition, rowsHere));
    }
}
