package io.minference.kernels.flash;

import io.minference.ptx.dsl.Bf16x2;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.FragmentA;
import io.minference.ptx.dsl.FragmentB;
import io.minference.ptx.dsl.FragmentC;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.S32;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

import java.util.ArrayList;
import java.util.List;

import static io.minference.ptx.dsl.Address.global;

/**
 * Causal flash attention for prefill (FlashAttention-2's forward pass) on the tensor cores, bf16 in and out with
 * f32 accumulation, for head dimension 64 or 128.
 * <p>Each block owns {@code blockM} query rows of one head, 16 per warp. Q is read once into registers as mma A
 * fragments; the block then walks the key tiles of {@code blockN} keys up to its last query's position through a
 * {@code stages}-deep cp.async pipeline of swizzled K and V tiles: S = Q K^T (ldmatrix + mma), the online softmax
 * in exp2 ({@link OnlineSoftmax}), P kept in registers as the A operand of O += P V (V read with ldmatrix.trans).
 * Only the tiles that cross the diagonal are masked; tiles past the last query's position are never loaded.
 * <p>Parameters: {@code q, k, v, o} (u64, the layout of {@link io.minference.kernels.flash}), {@code count} (u32,
 * T queries), {@code start} (u32, position of the first query), {@code numHeads}, {@code numKvHeads} (u32),
 * {@code scale} (f32, 1/sqrt(d) * log2 e). Launch: grid {@code (numHeads, ceil(T / blockM))}, block
 * {@link #threads()}, dynamic shared memory {@link #sharedBytes()}. Query blocks run last-first (the longest
 * ones start first), all heads of one query block side by side so that heads sharing a KV head share it in L2.
 */
public record FlashPrefill(int headDim, int blockM, int blockN, int stages, int rowTilesPerWarp)
        implements KernelDefinition {
    public FlashPrefill {
        if (headDim != 64 && headDim != 128) {
            throw new IllegalArgumentException("the tensor-core prefill handles head dims 64 and 128, not " + headDim
                    + " (use FlashFallback)");
        }
        if (rowTilesPerWarp < 1 || rowTilesPerWarp > 2 || blockM % (16 * rowTilesPerWarp) != 0 || blockM > 256
                || blockN % 16 != 0 || blockN < 16 || stages < 2) {
            throw new IllegalArgumentException("need 1 or 2 row tiles per warp, blockM a multiple of 16 per row tile"
                    + " up to 256, blockN a multiple of 16 and stages >= 2; got " + this);
        }
    }

    /** One 16-row tile per warp, Q kept in registers. */
    public FlashPrefill(int headDim, int blockM, int blockN, int stages) {
        this(headDim, blockM, blockN, stages, 1);
    }

    /** The tuned shape for a head dim: 128 query rows (8 warps), 64-key tiles, 3 stages. */
    public static FlashPrefill forHeadDim(int headDim) {
        return new FlashPrefill(headDim, 128, 64, 3);
    }

    public int threads() {
        return 32 * blockM / (16 * rowTilesPerWarp);
    }

    private int rowBytes() {
        return headDim * 2;
    }

    private int stageBytes() {
        return 2 * blockN * rowBytes();
    }

    public int sharedBytes() {
        return blockM * rowBytes() + stages * stageBytes();
    }

    /** Query blocks of a launch over {@code count} queries (the grid's y). */
    public int queryBlocks(int count) {
        return (count + blockM - 1) / blockM;
    }

    @Override
    public String entryName() {
        return "flash_prefill_bf16_d%d_m%d_n%d_s%d%s".formatted(headDim, blockM, blockN, stages,
                rowTilesPerWarp == 1 ? "" : "_r" + rowTilesPerWarp);
    }

    @Override
    public void define(KernelBuilder k) {
        U64 q = k.pointerParam("q");
        U64 kCache = k.pointerParam("k");
        U64 vCache = k.pointerParam("v");
        U64 o = k.pointerParam("o");
        U32 count = k.u32Param("count");
        U32 start = k.u32Param("start");
        U32 numHeads = k.u32Param("numHeads");
        U32 numKvHeads = k.u32Param("numKvHeads");
        F32 scale = k.f32Param("scale");
        k.maxThreadsPerBlock(threads());
        k.describe("causal flash attention, head dim " + headDim + ", " + blockM + " queries x " + blockN
                + " keys per step, " + stages + " stages");

        U32 tid = k.threadIdx();
        U32 lane = k.and(tid, 31).named("lane");
        U32 warp = k.shr(tid, 5).named("warp");
        U32 head = k.blockIdx(Axis.X).named("head");
        U32 queryBlock = k.sub(k.sub(k.gridDim(Axis.Y), 1), k.blockIdx(Axis.Y)).named("queryBlock");
        U32 kvHead = k.div(head, k.div(numHeads, numKvHeads)).named("kvHead");
        U32 qRowBytes = k.mul(numHeads, rowBytes()).named("qRowBytes");
        U32 kvRowBytes = k.mul(numKvHeads, rowBytes()).named("kvRowBytes");
        U32 firstRow = k.mul(queryBlock, blockM).named("firstRow");
        U32 rowsHere = k.min(k.sub(count, firstRow), k.u32(blockM)).named("rowsHere");
        U32 kvLength = k.add(start, count).named("kvLength");
        U32 firstPosition = k.add(start, firstRow).named("firstPosition");
        U32 keyTiles = k.div(k.add(firstPosition, k.add(rowsHere, blockN - 1)), blockN).named("keyTiles");
        U32 firstMaskedTile = k.div(k.add(firstPosition, 1), blockN).named("firstMaskedTile");
        U64 qHead = k.add(q, k.mulWide(head, rowBytes())).named("qHead");
        U64 kHead = k.add(kCache, k.mulWide(kvHead, rowBytes())).named("kHead");
        U64 vHead = k.add(vCache, k.mulWide(kvHead, rowBytes())).named("vHead");

        U32 smem = k.dynamicShared(sharedBytes());
        U32 tiles = k.add(smem, blockM * rowBytes()).named("kvStages");
        RowTileLoad queryLoad = new RowTileLoad(k, blockM, rowBytes(), tid, threads(), qRowBytes);
        RowTileLoad keyLoad = new RowTileLoad(k, blockN, rowBytes(), tid, threads(), kvRowBytes);

        k.comment("Q block (rows past the end zeroed), then the first key/value tiles: one commit group each");
        queryLoad.copy(k, smem, k.add(qHead, k.mulWide(firstRow, qRowBytes)), firstRow, count, q);
        k.commitGroup();
        java.util.function.Consumer<U32> loadKeyTile = tile -> {
            U32 stage = k.mad(k.rem(tile, stages), k.u32(stageBytes()), tiles);
            U32 firstKey = k.mul(tile, blockN);
            U64 offset = k.mulWide(firstKey, kvRowBytes);
            keyLoad.copy(k, stage, k.add(kHead, offset), firstKey, kvLength, kCache);
            keyLoad.copy(k, k.add(stage, blockN * rowBytes()), k.add(vHead, offset), firstKey, kvLength, vCache);
        };
        for (int s = 0; s < stages - 1; s++) {
            U32 tile = k.u32(s);
            k.ifThen(k.lt(tile, keyTiles), () -> loadKeyTile.accept(tile));
            k.commitGroup();
        }

        int tilesPerWarp = rowTilesPerWarp;
        // With one row tile per warp Q stays in registers; with two, the K and V fragments each feed two tiles
        // (half the shared-memory reads per product) and Q is re-read from shared memory to free the registers.
        boolean queryInRegisters = tilesPerWarp == 1;
        k.comment(queryInRegisters ? "Q fragments into registers, kept for the whole key loop"
                : "Q stays in shared memory, re-read per key tile");
        k.waitGroups(stages - 1);
        k.barrier();
        U32 warpRow = k.mul(warp, 16 * tilesPerWarp).named("warpRow");
        SwizzledFragments queryFragments = SwizzledFragments.operandA(k, rowBytes(), lane, warpRow);
        List<FragmentA<Bf16x2>> qFrags = new ArrayList<>();
        if (queryInRegisters) {
            for (int d0 = 0; d0 < headDim; d0 += 16) {
                qFrags.add(queryFragments.loadA(k, smem, 0, d0));
            }
        }
        SwizzledFragments keyFragments = SwizzledFragments.operandB(k, rowBytes(), lane);
        SwizzledFragments valueFragments = SwizzledFragments.operandBTransposed(k, rowBytes(), lane);
        FragmentC[][] out = new FragmentC[tilesPerWarp][headDim / 8];
        OnlineSoftmax[] softmax = new OnlineSoftmax[tilesPerWarp];
        for (int t = 0; t < tilesPerWarp; t++) {
            for (int i = 0; i < out[t].length; i++) {
                out[t][i] = k.zeroAccumulator("o");
            }
            softmax[t] = new OnlineSoftmax(k, scale);
        }

        U32 group = k.shr(lane, 2).named("group");
        U32 pair = k.shl(k.and(lane, 3), 1).named("pairColumn");
        U32 laneFirstPosition = k.add(firstPosition, k.add(warpRow, group)).named("lanePosition");
        java.util.function.BiConsumer<U32, Boolean> step = (tile, masked) -> {
            k.waitGroups(stages - 2);
            k.barrier();
            U32 ahead = k.add(tile, stages - 1);
            k.ifThen(k.lt(ahead, keyTiles), () -> loadKeyTile.accept(ahead));
            k.commitGroup();
            U32 stage = k.mad(k.rem(tile, stages), k.u32(stageBytes()), tiles).named("stage");
            U32 values = k.add(stage, blockN * rowBytes()).named("valueTile");

            FragmentC[][] scores = new FragmentC[tilesPerWarp][blockN / 8];
            for (int t = 0; t < tilesPerWarp; t++) {
                for (int i = 0; i < scores[t].length; i++) {
                    scores[t][i] = k.zeroAccumulator("s");
                }
            }
            for (int d0 = 0; d0 < headDim; d0 += 16) {
                List<FragmentA<Bf16x2>> a = new ArrayList<>();
                for (int t = 0; t < tilesPerWarp; t++) {
                    a.add(queryInRegisters ? qFrags.get(d0 / 16) : queryFragments.loadA(k, smem, 16 * t, d0));
                }
                for (int n0 = 0; n0 < blockN; n0 += 16) {
                    List<FragmentB<Bf16x2>> b = keyFragments.loadB(k, stage, n0, d0, false);
                    for (int t = 0; t < tilesPerWarp; t++) {
                        k.mma(scores[t][n0 / 8], a.get(t), b.get(0));
                        k.mma(scores[t][n0 / 8 + 1], a.get(t), b.get(1));
                    }
                }
            }
            List<List<FragmentA<Bf16x2>>> probabilities = new ArrayList<>();
            for (int t = 0; t < tilesPerWarp; t++) {
                if (masked) {
                    U32 tileFirstPosition = t == 0 ? laneFirstPosition : k.add(laneFirstPosition, 16 * t);
                    maskAboveDiagonal(k, scores[t], k.sub(tileFirstPosition, k.add(k.mul(tile, blockN), pair)));
                }
                probabilities.add(softmax[t].fold(k, scores[t], out[t]));
            }
            for (int j = 0; j < blockN / 16; j++) {
                for (int d0 = 0; d0 < headDim; d0 += 16) {
                    List<FragmentB<Bf16x2>> b = valueFragments.loadB(k, values, d0, 16 * j, true);
                    for (int t = 0; t < tilesPerWarp; t++) {
                        k.mma(out[t][d0 / 8], probabilities.get(t).get(j), b.get(0));
                        k.mma(out[t][d0 / 8 + 1], probabilities.get(t).get(j), b.get(1));
                    }
                }
            }
        };
        k.comment("key tiles wholly below the diagonal: no mask");
        k.loop(k.u32(0), firstMaskedTile, 1, tile -> step.accept(tile, false));
        k.comment("key tiles that cross the diagonal: keys past each row's position are masked");
        k.loop(firstMaskedTile, keyTiles, 1, tile -> step.accept(tile, true));
        k.waitAll();

        k.comment("epilogue: O / l as bf16, rows past the end skipped");
        U64 oBlock = k.add(k.add(o, k.mulWide(head, rowBytes())), k.mulWide(firstRow, qRowBytes)).named("oBlock");
        for (int t = 0; t < tilesPerWarp; t++) {
            F32[] sums = softmax[t].rowSums(k);
            FragmentC[] tileOut = out[t];
            for (int half = 0; half < 2; half++) {
                int rowHalf = half;
                U32 row = k.add(k.add(warpRow, group), 16 * t + 8 * half).named("outRow");
                F32 inverse = k.div(k.f32(1), sums[half]);
                k.ifThen(k.lt(row, rowsHere), () -> {
                    U64 rowStart = k.add(k.add(oBlock, k.mulWide(row, qRowBytes)), k.mulWide(pair, 2));
                    for (int f = 0; f < tileOut.length; f++) {
                        List<F32> acc = tileOut[f].regs();
                        k.store(global(rowStart).plus(f * 16L), k.packBf16(k.mul(acc.get(2 * rowHalf), inverse),
                                k.mul(acc.get(2 * rowHalf + 1), inverse)));
                    }
                });
            }
        }
    }

    /**
     * Sets to -inf the scores of keys past the lane's query positions. {@code limit} is the lane's first row's
     * position minus the tile's first key minus the lane's column pair: entry (half, fragment f, column c) is kept
     * while {@code 8f + c <= limit + 8 half}.
     */
    private static void maskAboveDiagonal(KernelBuilder k, FragmentC[] scores, U32 limit) {
        S32 signedLimit = k.toS32(limit);
        for (int half = 0; half < 2; half++) {
            S32 rowLimit = half == 0 ? signedLimit : k.add(signedLimit, 8);
            for (int f = 0; f < scores.length; f++) {
                for (int c = 0; c < 2; c++) {
                    F32 score = scores[f].regs().get(2 * half + c);
                    k.set(score, k.select(k.lt(rowLimit, k.s32(8 * f + c)), k.f32(Float.NEGATIVE_INFINITY), score));
                }
            }
        }
    }
}
