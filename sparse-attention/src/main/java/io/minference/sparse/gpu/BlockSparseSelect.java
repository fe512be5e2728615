package io.minference.sparse.gpu;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

import java.util.function.Function;

/**
 * Block-sparse selection and index building for one query block b of a head: block scores
 * {@code S[c] = q̄_b·k̄_c / sqrt(d)} for {@code c <= b} from {@link BlockPool}'s means, key blocks 0 and b forced,
 * then top-k ({@code k = min(budget, b + 1)}, ranked by S) or mass (over {@code softmax_c(S)}, total 1) by
 * {@link ScoreSelect}; the kept blocks are marked in a bitmap whose runs become the ranges; no columns.
 * <p>Parameters: {@code params} (int32 {@link HeadParameters}), {@code pooledQ, pooledK} (f32), {@code rangeOffsets,
 * rangeCounts, ranges, columnCounts} (the index's arrays; a slot's ranges go at its offset, at most up to the next
 * slot's), {@code firstHead, numHeads, numKvHeads, length, firstSlot} (u32: the estimate's heads start at firstHead,
 * the index's slot h is the estimate's slot firstSlot + h), {@code scale} (f32, 1/sqrt(d)). Launch: grid (query
 * blocks, heads of the index), {@link #THREADS} threads,
 * {@code 4 * maxBlocks} dynamic shared bytes; query blocks up to {@code maxBlocks}.
 */
public record BlockSparseSelect(int headDim, int maxBlocks) implements KernelDefinition {
    public static final int THREADS = 256;
    /** The most query blocks a launch takes: 2M tokens. */
    public static final int MAX_BLOCKS = 32768;

    public BlockSparseSelect {
        if (headDim % 4 != 0 || headDim > 256 || maxBlocks < 64 || maxBlocks > MAX_BLOCKS
                || Integer.bitCount(maxBlocks) != 1) {
            throw new IllegalArgumentException("block-sparse selection needs a head size that is a multiple of 4 up"
                    + " to 256 and a power-of-two block capacity in 64.." + MAX_BLOCKS + ", got " + headDim + ", "
                    + maxBlocks);
        }
    }

    /** The specialization for a prompt of {@code queryBlocks} blocks. */
    public static BlockSparseSelect forBlocks(int headDim, int queryBlocks) {
        if (queryBlocks > MAX_BLOCKS) {
            throw new IllegalArgumentException("block-sparse estimation on the GPU takes up to " + MAX_BLOCKS * 64L
                    + " tokens, got " + queryBlocks + " query blocks");
        }
        return new BlockSparseSelect(headDim, Math.max(64, Integer.highestOneBit(Math.max(1, queryBlocks - 1)) * 2));
    }

    @Override
    public String entryName() {
        return "block_sparse_select_d" + headDim + "_" + maxBlocks;
    }

    @Override
    public void define(KernelBuilder k) {
        int d = headDim;
        U64 params = k.pointerParam("params");
        U64 pooledQ = k.pointerParam("pooledQ");
        U64 pooledK = k.pointerParam("pooledK");
        U64 rangeOffsets = k.pointerParam("rangeOffsets");
        U64 rangeCounts = k.pointerParam("rangeCounts");
        U64 ranges = k.pointerParam("ranges");
        U64 columnCounts = k.pointerParam("columnCounts");
        U32 firstHead = k.u32Param("firstHead");
        U32 numHeads = k.u32Param("numHeads");
        U32 numKvHeads = k.u32Param("numKvHeads");
        U32 length = k.u32Param("length");
        U32 firstSlot = k.u32Param("firstSlot");
        F32 scale = k.f32Param("scale");
        k.maxThreadsPerBlock(THREADS);
        U32 scores = k.dynamicShared(4 * maxBlocks);
        U32 query = k.sharedArray("pooledQuery", 4 * d);
        U32 bitmap = k.sharedArray("keptBlocks", maxBlocks / 8);
        U32 reduce = k.sharedArray("reduce", 32 * 4);
        U32 scratch = k.sharedArray("scan", 32 * 4);
        U32 tid = k.threadIdx();
        // the candidates are in shared memory: nothing to gain from loading several at once
        ScoreSelect select = new ScoreSelect(k, THREADS, 1, tid);
        U32 b = k.blockIdx();
        U32 blocks = k.gridDim();
        U32 slot = k.add(firstSlot, k.blockIdx(Axis.Y)).named("estimateSlot");
        U32 paramBase = k.mul(slot, HeadParameters.STRIDE);
        U32 code = k.loadU32(k.element(params, paramBase, 4));
        k.ifThen(k.eq(code, HeadParameters.BLOCK_SPARSE), () -> {
            U32 head = k.add(firstHead, slot);
            U32 kvHead = k.div(head, k.div(numHeads, numKvHeads));
            U32 count = k.add(b, 1).named("count");
            U32 m1 = k.min(k.shl(count, 6), length);
            U32 slotBlock = k.mad(slot, blocks, b);
            U32 indexSlot = k.mad(k.blockIdx(Axis.Y), blocks, b).named("indexSlot");
            U32 firstRange = k.loadU32(k.element(rangeOffsets, indexSlot, 4));
            U32 room = k.sub(k.loadU32(k.element(rangeOffsets, k.add(indexSlot, 1), 4)), firstRange);
            U64 myRanges = k.add(ranges, k.mulWide(firstRange, 8));
            U32 budgetKind = k.loadU32(k.element(params, k.add(paramBase, 1), 4));
            U32 budgetValue = k.loadU32(k.element(params, k.add(paramBase, 2), 4));
            Pred mass = k.eq(budgetKind, HeadParameters.MASS);
            U32 topK = k.min(budgetValue, count);

            U64 queryRow = k.pointer(pooledQ, k.mul(slotBlock, d), 4);
            k.loop(tid, k.u32(d), THREADS, e -> k.store(k.element(query, e, 4), k.loadF32(k.element(queryRow, e, 4))));
            k.loop(tid, k.shr(k.add(count, 31), 5), THREADS, w -> k.store(k.element(bitmap, w, 4), k.u32(0)));
            k.barrier();
            U64 keyRows = k.pointer(pooledK, k.mul(k.mul(kvHead, blocks), d), 4);
            F32 localMax = k.var("localMax", k.f32(Float.NEGATIVE_INFINITY));
            k.loop(tid, count, THREADS, c -> {
                U64 keyRow = k.pointer(keyRows, k.mul(c, d), 4);
                F32[] partial = new F32[4];
                for (int v = 0; v < d / 4; v++) {
                    F32[] q4 = k.loadF32x4(Address.shared(query).plus(16L * v));
                    F32[] k4 = k.loadF32x4(Address.global(keyRow).plus(16L * v));
                    for (int m = 0; m < 4; m++) partial[m] = v == 0 ? k.mul(q4[m], k4[m]) : k.mad(q4[m], k4[m], partial[m]);
                }
                F32 s = k.mul(k.add(k.add(partial[0], partial[1]), k.add(partial[2], partial[3])), scale);
                k.store(k.element(scores, c, 4), s);
                k.set(localMax, k.max(localMax, s));
            });
            F32 max = blockReduce(k, localMax, reduce, tid, true);
            F32 localSum = k.var("localSum", k.f32(0));
            k.loop(tid, count, THREADS, c -> k.set(localSum,
                    k.add(localSum, k.exp(k.sub(k.loadF32(k.element(scores, c, 4)), max)))));
            F32 inverseSum = k.div(k.f32(1), blockReduce(k, localSum, reduce, tid, false));

            Function<U32, Pred> forced = c -> k.or(k.eq(c, 0), k.eq(c, b));
            Function<U32, ScoreSelect.Candidate> candidate = c -> {
                F32 s = k.loadF32(k.element(scores, c, 4));
                return new ScoreSelect.Candidate(() -> {
                    U32 bits = k.bitsAsU32(k.bits(s));
                    U32 ordered = k.select(k.lt(bits, k.u32(0x80000000L)), k.or(bits, k.u32(0x80000000L)),
                            k.not(bits));
                    U32 massKey = k.bitsAsU32(k.bits(k.mul(k.exp(k.sub(s, max)), inverseSum)));
                    U32 forcedKey = k.select(mass, k.u32(EstimationOps.INFINITY_BITS), k.u32(0xFFFFFFFFL));
                    return k.select(forced.apply(c), forcedKey, k.select(mass, massKey, ordered));
                }, () -> k.mul(k.exp(k.sub(s, max)), inverseSum));
            };
            k.ifElse(k.and(k.not(mass), k.eq(topK, 0)), () -> {
                k.ifThen(k.eq(tid, 0), () -> {
                    k.store(k.element(rangeCounts, indexSlot, 4), k.u32(0));
                    k.store(k.element(columnCounts, indexSlot, 4), k.u32(0));
                });
            }, () -> {
                ScoreSelect.Threshold threshold = select.threshold(count, candidate, mass, topK,
                        EstimationOps.asFloat(k, budgetValue));
                select.compact(count, candidate, threshold, (position, c) -> EstimationOps.sharedOr(k,
                        k.element(bitmap, k.shr(c, 5), 4), EstimationOps.shiftLeft(k, k.u32(1), k.and(c, 31))));
                k.barrier();
                U32 runs = KeyBlockRuns.write(k, bitmap, k.shr(k.add(count, 31), 5), scratch, tid, THREADS, myRanges,
                        room, m1);
                k.ifThen(k.eq(tid, 0), () -> {
                    k.store(k.element(rangeCounts, indexSlot, 4), k.min(runs, room));
                    k.store(k.element(columnCounts, indexSlot, 4), k.u32(0));
                });
            });
        });
    }

    /** The block's maximum (or sum) of one value per thread, in every thread. */
    private static F32 blockReduce(KernelBuilder k, F32 value, U32 reduce, U32 tid, boolean maximum) {
        F32 v = value;
        for (int mask = 16; mask >= 1; mask /= 2) {
            F32 other = k.shuffleXor(v, mask);
            v = maximum ? k.max(v, other) : k.add(v, other);
        }
        F32 warpValue = v;
        k.ifThen(k.eq(k.and(tid, 31), 0), () -> k.store(k.element(reduce, k.shr(tid, 5), 4), warpValue));
        k.barrier();
        F32 result = k.loadF32(Address.shared(reduce));
        for (int w = 1; w < THREADS / 32; w++) {
            F32 other = k.loadF32(Address.shared(reduce).plus(4L * w));
            result = maximum ? k.max(result, other) : k.add(result, other);
        }
        k.barrier();
        return result;
    }
}
