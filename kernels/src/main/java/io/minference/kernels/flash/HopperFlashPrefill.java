package io.minference.kernels.flash;

import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.Bf16x2;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.FragmentA;
import io.minference.ptx.dsl.FragmentC;
import io.minference.ptx.dsl.HalfType;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.MBarrier;
import io.minference.ptx.dsl.MatrixDescriptor;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.TensorMap;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.ptx.dsl.WarpgroupAccumulator;
import io.minference.ptx.tile.WgmmaTile;

import java.util.List;

import static io.minference.ptx.dsl.Address.global;

/**
 * Causal flash attention for prefill on Hopper (sm_90a), FlashAttention-3's design: bf16 in and out, f32
 * accumulation, head dimension 64 or 128, the same layout and results as {@link FlashPrefill}.
 * <p>A block owns {@link #BLOCK_M} query rows of one head and runs three warpgroups. The producer (warpgroup 0,
 * shrunk to {@link #PRODUCER_REGISTERS} registers with setmaxnreg) has one thread issue TMA copies: the Q block
 * once, then for each key step the K and V tiles into a ring of {@code stages} 128-byte-swizzled stages, each with a
 * full barrier (the copy engine's transaction bytes) and an empty barrier (every consumer thread's arrival). The two
 * consumer warpgroups (grown to {@link #CONSUMER_REGISTERS}) own 64 query rows each: S = Q Kᵀ with wgmma (Q and K
 * from shared memory), the mask of the key source, the online softmax in registers ({@link OnlineSoftmax}), then
 * O += P V with P from registers and V transposed from shared memory, and finally release the stage; the S of the
 * next step is issued right behind P V, so that the tensor cores take both back to back. The two consumer
 * warpgroups run unsynchronised, so one's softmax overlaps the other's GEMMs. The key steps come from a
 * {@link HopperKeySource}; this kernel uses the causal one.
 * <p>Parameters: {@code q, k, v} (tensor maps, {@code io.minference.runtime.cuda.TensorMap.headRows} views of the
 * token-major tensors: Q with {@code count} rows and a box of {@link #BLOCK_M}, K and V with {@code start + count}
 * rows and a box of {@code blockN}), {@code o} (u64), {@code count}, {@code start}, {@code numHeads},
 * {@code numKvHeads} (u32), {@code scale} (f32, 1/sqrt(d) * log2 e). Launch: grid
 * {@code (numHeads, ceil(count / BLOCK_M))}, block {@link #THREADS}, dynamic shared memory {@link #sharedBytes()};
 * query blocks run last-first, as in {@link FlashPrefill}.
 */
public record HopperFlashPrefill(int headDim, int blockN, int stages) implements KernelDefinition {
    /** Query rows per block: two consumer warpgroups of 64. */
    public static final int BLOCK_M = 128;
    /** One producer and two consumer warpgroups. */
    public static final int THREADS = 384;
    static final int PRODUCER_REGISTERS = 24;
    static final int CONSUMER_REGISTERS = 240;
    private static final int CONSUMER_ROWS = 64;
    private static final int MAX_SHARED_BYTES = 227 * 1024;

    public HopperFlashPrefill {
        if (headDim != 64 && headDim != 128) {
            throw new IllegalArgumentException("the Hopper prefill handles head dims 64 and 128, not " + headDim);
        }
        if (blockN % 16 != 0 || blockN < 16 || blockN > 256 || stages < 2) {
            throw new IllegalArgumentException("need blockN a multiple of 16 in 16..256 and stages >= 2; got " + blockN
                    + " keys, " + stages + " stages");
        }
        int shared = 2 * BLOCK_M * headDim + stages * 4 * blockN * headDim + 1024;
        if (shared > MAX_SHARED_BYTES) {
            throw new IllegalArgumentException("d " + headDim + " with " + blockN + "-key tiles in " + stages
                    + " stages needs " + shared + " bytes of shared memory, more than the " + MAX_SHARED_BYTES
                    + " a Hopper block may have");
        }
    }

    /** The tuned shape for a head dim: 128-key tiles, in 2 stages for d 128 and 3 for d 64. */
    public static HopperFlashPrefill forHeadDim(int headDim) {
        return new HopperFlashPrefill(headDim, 128, headDim == 128 ? 2 : 3);
    }

    private int tileBytes(int rows) {
        return rows * headDim * 2;
    }

    private int stageBytes() {
        return 2 * tileBytes(blockN);
    }

    public int sharedBytes() {
        return tileBytes(BLOCK_M) + stages * stageBytes();
    }

    /** Query blocks of a launch over {@code count} queries (the grid's y). */
    public int queryBlocks(int count) {
        return (count + BLOCK_M - 1) / BLOCK_M;
    }

    @Override
    public String entryName() {
        return "flash_prefill_sm90a_bf16_d%d_m%d_n%d_s%d".formatted(headDim, BLOCK_M, blockN, stages);
    }

    @Override
    public PtxTarget minimumTarget() {
        return PtxTarget.SM_90A;
    }

    @Override
    public void define(KernelBuilder k) {
        TensorMap qMap = k.tensorMapParam("q");
        TensorMap kMap = k.tensorMapParam("k");
        TensorMap vMap = k.tensorMapParam("v");
        U64 o = k.pointerParam("o");
        U32 count = k.u32Param("count");
        U32 start = k.u32Param("start");
        U32 numHeads = k.u32Param("numHeads");
        U32 numKvHeads = k.u32Param("numKvHeads");
        F32 scale = k.f32Param("scale");
        k.maxThreadsPerBlock(THREADS);
        k.minBlocksPerSm(1);
        k.describe("causal flash attention on wgmma and TMA, head dim " + headDim + ", " + BLOCK_M + " queries x "
                + blockN + " keys per step, " + stages + " stages, 1 producer + 2 consumer warpgroups");

        U32 tid = k.threadIdx();
        U32 head = k.blockIdx(Axis.X).named("head");
        U32 queryBlock = k.sub(k.sub(k.gridDim(Axis.Y), 1), k.blockIdx(Axis.Y)).named("queryBlock");
        U32 kvHead = k.div(head, k.div(numHeads, numKvHeads)).named("kvHead");
        U32 firstRow = k.mul(queryBlock, BLOCK_M).named("firstRow");
        U32 rowsHere = k.min(k.sub(count, firstRow), k.u32(BLOCK_M)).named("rowsHere");
        U32 firstPosition = k.add(start, firstRow).named("firstPosition");

        U32 smem = k.dynamicShared(sharedBytes(), 1024);
        WgmmaTile queries = new WgmmaTile(smem, BLOCK_M, headDim);
        U32 ring = k.add(smem, tileBytes(BLOCK_M)).named("ring");
        U32 barriers = k.sharedArray("barriers", (1 + 2 * stages) * MBarrier.BYTES);
        MBarrier queryLoaded = new MBarrier(barriers);
        HopperKeySource source = new CausalKeySource(blockN, kMap, vMap, kvHead, firstPosition, rowsHere);

        k.comment("barriers: Q loaded; per stage, full (TMA bytes landed) and empty (all 256 consumers done)");
        k.ifThen(k.eq(tid, 0), () -> {
            k.initBarrier(queryLoaded, 1);
            for (int s = 0; s < stages; s++) {
                k.initBarrier(full(barriers, k.u32(s), k), 1);
                k.initBarrier(empty(barriers, k.u32(s), k), 2 * 128);
            }
            k.fenceBarrierInit();
        });
        k.barrier();

        U32 warpgroup = k.shr(tid, 7).named("warpgroup");
        k.ifElse(k.eq(warpgroup, 0), () -> {
            k.comment("producer: one thread issues every TMA copy");
            k.decreaseRegisters(PRODUCER_REGISTERS);
            k.ifThen(k.eq(tid, 0), () -> {
                k.arriveExpectingBytes(queryLoaded, queries.bytes());
                queries.load(k, qMap, queryLoaded, head, firstRow);
                U32 steps = source.steps(k);
                k.loop(k.u32(0), steps, 1, step -> {
                    U32 stage = k.rem(step, stages).named("stage");
                    U32 round = k.div(step, stages);
                    k.waitPhase(empty(barriers, stage, k), k.xor(k.and(round, 1), 1));
                    U32 stageAddress = k.mad(stage, k.u32(stageBytes()), ring);
                    source.load(k, step, new WgmmaTile(stageAddress, blockN, headDim),
                            new WgmmaTile(k.add(stageAddress, tileBytes(blockN)), blockN, headDim),
                            full(barriers, stage, k));
                });
            });
        }, () -> consume(k, tid, warpgroup, queries, ring, barriers, queryLoaded, source, scale, o, numHeads,
                firstRow, firstPosition, rowsHere, head));
    }

    /** One consumer key step, emitted three times: unmasked in a loop, masked in a loop, and the last one. */
    @FunctionalInterface
    private interface StepBody {
        void run(U32 index, boolean masked, boolean issueNext);
    }

    private MBarrier full(U32 barriers, U32 stage, KernelBuilder k) {
        return new MBarrier(k.mad(stage, k.u32(MBarrier.BYTES), k.add(barriers, MBarrier.BYTES)));
    }

    private MBarrier empty(U32 barriers, U32 stage, KernelBuilder k) {
        return new MBarrier(k.mad(stage, k.u32(MBarrier.BYTES), k.add(barriers, (1 + stages) * MBarrier.BYTES)));
    }

    private void consume(KernelBuilder k, U32 tid, U32 warpgroup, WgmmaTile queries, U32 ring, U32 barriers,
                         MBarrier queryLoaded, HopperKeySource source, F32 scale, U64 o, U32 numHeads, U32 firstRow,
                         U32 firstPosition, U32 rowsHere, U32 head) {
        k.comment("consumers: 64 query rows per warpgroup");
        k.increaseRegisters(CONSUMER_REGISTERS);
        U32 consumer = k.sub(warpgroup, 1).named("consumer");
        U32 lane = k.and(tid, 31).named("lane");
        U32 warpRow = k.add(k.mul(consumer, CONSUMER_ROWS), k.mul(k.and(k.shr(tid, 5), 3), 16)).named("warpRow");
        U32 group = k.shr(lane, 2).named("group");
        U32 pair = k.shl(k.and(lane, 3), 1).named("pairColumn");
        U32 rowPosition = k.add(firstPosition, k.add(warpRow, group)).named("rowPosition");

        WarpgroupAccumulator scores = k.warpgroupAccumulator("s", blockN);
        WarpgroupAccumulator out = k.warpgroupAccumulator("o", headDim);
        OnlineSoftmax softmax = new OnlineSoftmax(k, scale);
        MatrixDescriptor queryBase = queries.kMajorBase(k);
        MatrixDescriptor queryRows = new MatrixDescriptor(k.add(queryBase.bits(),
                k.toU64(k.mul(consumer, CONSUMER_ROWS * 128 / 16))).named("queryDesc"));
        k.waitPhase(queryLoaded, k.u32(0));

        U32 steps = source.steps(k);
        U32 lastStep = k.sub(steps, 1).named("lastStep");
        U32 firstMasked = k.min(source.firstMaskedStep(k), lastStep).named("firstMasked");
        // S of step t + 1 is issued right behind O += P V of step t, so the tensor cores run both back to back while
        // the warpgroup waits; the softmax of t + 1 then needs both done (it rescales O).
        java.util.function.Consumer<U32> issueScores = index -> {
            U32 stage = k.rem(index, stages).named("stage");
            k.waitPhase(full(barriers, stage, k), k.and(k.div(index, stages), 1));
            WgmmaTile keys = new WgmmaTile(k.mad(stage, k.u32(stageBytes()), ring), blockN, headDim);
            MatrixDescriptor keyBase = keys.kMajorBase(k);
            for (int s = 0; s < headDim / 16; s++) {
                k.wgmma(scores, HalfType.BF16, queries.kMajor(k, queryRows, 0, s), keys.kMajor(k, keyBase, 0, s),
                        s > 0, false);
            }
            k.wgmmaCommit();
        };
        StepBody step = (index, masked, issueNext) -> {
            if (masked) {
                source.mask(k, index, scores, rowPosition, pair);
            }
            List<FragmentA<Bf16x2>> probabilities = softmax.fold(k, scores.fragments(), out.fragments());
            U32 stage = k.rem(index, stages).named("stage");
            WgmmaTile values = new WgmmaTile(k.add(k.mad(stage, k.u32(stageBytes()), ring), tileBytes(blockN)),
                    blockN, headDim);
            MatrixDescriptor valueBase = values.mnMajorBase(k);
            k.wgmmaFence();
            for (int j = 0; j < probabilities.size(); j++) {
                k.wgmma(out, probabilities.get(j), values.mnMajor(k, valueBase, j), true, true);
            }
            k.wgmmaCommit();
            if (issueNext) {
                issueScores.accept(k.add(index, 1));
            }
            k.wgmmaWait(0);
            k.arrive(empty(barriers, stage, k));
        };
        k.comment("S of the first step");
        k.wgmmaFence();
        issueScores.accept(k.u32(0));
        k.wgmmaWait(0);
        k.comment("key steps wholly below the diagonal: no mask");
        k.loop(k.u32(0), firstMasked, 1, index -> step.run(index, false, true));
        k.comment("key steps that cross the diagonal: masked");
        k.loop(firstMasked, lastStep, 1, index -> step.run(index, true, true));
        k.comment("the last step, masked, with nothing behind it");
        step.run(lastStep, true, false);

        k.comment("epilogue: O / l as bf16, rows past the end skipped");
        F32[] sums = softmax.rowSums(k);
        U32 qRowBytes = k.mul(numHeads, headDim * 2).named("qRowBytes");
        U64 oBlock = k.add(k.add(o, k.mulWide(head, headDim * 2)), k.mulWide(firstRow, qRowBytes)).named("oBlock");
        FragmentC[] outFragments = out.fragments();
        for (int half = 0; half < 2; half++) {
            int rowHalf = half;
            U32 row = k.add(k.add(warpRow, group), 8 * half).named("outRow");
            F32 inverse = k.div(k.f32(1), sums[half]);
            k.ifThen(k.lt(row, rowsHere), () -> {
                U64 rowStart = k.add(k.add(oBlock, k.mulWide(row, qRowBytes)), k.mulWide(pair, 2));
                for (int f = 0; f < outFragments.length; f++) {
                    List<F32> acc = outFragments[f].regs();
                    k.store(global(rowStart).plus(f * 16L), k.packBf16(k.mul(acc.get(2 * rowHalf), inverse),
                            k.mul(acc.get(2 * rowHalf + 1), inverse)));
                }
            });
        }
    }
}
