package io.minference.sparse.gpu;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.B32;
import io.minference.ptx.dsl.Bf16x2;
import io.minference.ptx.dsl.FragmentA;
import io.minference.ptx.dsl.FragmentB;
import io.minference.ptx.dsl.FragmentC;
import io.minference.ptx.dsl.HalfType;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.S32;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

import java.util.ArrayList;
import java.util.List;

/**
 * Vertical-slash estimation over one tile: the logits of the last {@code n = min(64, L)} queries of a head against
 * {@link #COLUMNS} keys, {@code q_i·k_j · log2(e)/sqrt(d)}, causally masked, held in shared memory. Launched twice:
 * <ul>
 *   <li>{@link Mode#ROW_STATS}: each tile's per-row maximum and sum of {@code 2^(x - max)} go to
 *       {@code stats[((slot * tiles + tile) * 64 + r) * 2 + {0, 1}]} ({@link VerticalSlashRowStats} combines them);
 *   <li>{@link Mode#SCORES}: with the combined row maximum and reciprocal sum of {@code rowStats[(slot * 64 + r) * 2]}
 *       the tile becomes probabilities P; the column sums are stored to {@code scores[(slot * 2) * L + j]} and the
 *       tile's diagonal sums added to {@code scores[(slot * 2 + 1) * L + δ]} (zeroed before the launch; each diagonal
 *       meets at most two tiles, so the float sums do not depend on the order of the adds).</li>
 * </ul>
 * Parameters: {@code q, k} (bf16, [L, numHeads, d] and [≥L, numKvHeads, d]), {@code params} (int32
 * {@link HeadParameters}), {@code stats}, {@code rowStats}, {@code scores} (f32), {@code firstHead, numHeads,
 * numKvHeads, length} (u32), {@code scale} (f32, log2(e)/sqrt(d)). Launch: grid (heads of the batch,
 * ceil(L / COLUMNS)), {@link #COLUMNS} threads, {@link #sharedBytes()} dynamic shared bytes; slots whose pattern is
 * not vertical-slash write nothing (they read their query rows first, as every block does). The heads are the
 * grid's fast axis so that the blocks reading one key tile (the heads of a KV group) run together and read it once
 * from DRAM: in tile-major order each head streamed its KV head's whole K before the next head of the group came back
 * to it, four passes over K at a million tokens (268 MB a KV head, four times the L2).
 */
public record VerticalSlashTile(int headDim, Mode mode, boolean tensorCores) implements KernelDefinition {
    /** Keys per tile, one per thread. */
    public static final int COLUMNS = 256;
    /** The estimation's query rows. */
    public static final int ROWS = 64;

    /** Floats between logit rows: 8 more than a row, so that the tensor-core variant's paired stores do not conflict. */
    static final int LOGIT_STRIDE = COLUMNS + 8;

    public enum Mode { ROW_STATS, SCORES }

    /** The tensor-core variant (the one {@link GpuIndexBuilder} uses). */
    public VerticalSlashTile(int headDim, Mode mode) {
        this(headDim, mode, true);
    }

    public VerticalSlashTile {
        if (headDim < 16 || headDim > 256 || headDim % 16 != 0) {
            throw new IllegalArgumentException("vertical-slash estimation needs a head size that is a multiple of 16"
                    + " up to 256, got " + headDim);
        }
    }

    @Override
    public String entryName() {
        return "vertical_slash_" + (mode == Mode.ROW_STATS ? "row_stats" : "scores") + "_d" + headDim
                + (tensorCores ? "_mma" : "_fma");
    }

    /**
     * The query rows (bf16 padded rows for the tensor cores, f32 otherwise), then the tile of logits, then for the
     * scores the rows' combined maximum and reciprocal sum.
     */
    public int sharedBytes() {
        return queryBytes() + ROWS * LOGIT_STRIDE * 4 + (mode == Mode.SCORES ? ROWS * 8 : 0);
    }

    private int queryBytes() {
        return tensorCores ? ROWS * (2 * headDim + 16) : ROWS * headDim * 4;
    }

    @Override
    public void define(KernelBuilder k) {
        int d = headDim;
        U64 q = k.pointerParam("q");
        U64 keys = k.pointerParam("k");
        U64 params = k.pointerParam("params");
        U64 stats = k.pointerParam("stats");
        U64 rowStats = k.pointerParam("rowStats");
        U64 scores = k.pointerParam("scores");
        U32 firstHead = k.u32Param("firstHead");
        U32 numHeads = k.u32Param("numHeads");
        U32 numKvHeads = k.u32Param("numKvHeads");
        U32 length = k.u32Param("length");
        F32 scale = k.f32Param("scale");
        k.maxThreadsPerBlock(COLUMNS);
        k.describe("vertical-slash estimation tile, d = " + d + ", " + mode);
        U32 smem = k.dynamicShared(sharedBytes());
        U32 queryTile = smem;
        U32 logits = k.add(smem, k.u32(queryBytes())).named("logits");
        U32 rowStatsTile = k.add(logits, k.u32(ROWS * LOGIT_STRIDE * 4)).named("rowStatsTile");
        U32 tid = k.threadIdx();
        U32 slot = k.blockIdx();
        U32 tile = k.blockIdx(Axis.Y);
        U32 code = k.loadU32(k.element(params, k.mul(slot, HeadParameters.STRIDE), 4));
        U32 head = k.add(firstHead, slot);
        U32 kvHead = k.div(head, k.div(numHeads, numKvHeads));
        U32 n = k.min(length, k.u32(ROWS)).named("n");
        U32 firstRow = k.sub(length, n).named("firstRow");
        U32 j = k.mad(tile, k.u32(COLUMNS), tid).named("j");
        Block block = new Block(new Inputs(q, keys, numHeads, numKvHeads, length, scale), queryTile, logits, tid,
                slot, tile, head, kvHead, n, firstRow, j, k.lt(j, length));
        // The query rows, and the scores' row statistics, are loaded before the head's pattern is known: every head
        // of the batch has them, and so the block waits for one round trip to memory, not for the pattern's and
        // then for the rows'. The statistics of rows past n are what the combine left there, never used.
        F32[] rowStat = mode == Mode.SCORES
                ? k.loadF32x2(k.element(rowStats, k.add(k.mul(slot, ROWS), k.min(tid, k.u32(ROWS - 1))), 8))
                : null;
        if (tensorCores) {
            loadQueryRows(k, block);
        } else {
            loadQueryRowsAsFloats(k, block);
        }
        if (rowStat != null) {
            k.ifThen(k.lt(tid, ROWS), () -> k.storeVector(Address.shared(k.add(rowStatsTile, k.shl(tid, 3))),
                    rowStat));
        }
        k.ifThen(k.eq(code, HeadParameters.VERTICAL_SLASH), () -> {
            k.barrier();
            if (tensorCores) {
                tensorCoreLogits(k, block);
            } else {
                cudaCoreLogits(k, block);
            }
            k.barrier();
            if (mode == Mode.ROW_STATS) {
                rowStatistics(k, stats, block);
            } else {
                scores(k, rowStatsTile, scores, block);
            }
        });
    }

    /** The kernel's inputs: the prompt's Q and K, their head counts, its length and the logits' scale. */
    private record Inputs(U64 q, U64 keys, U32 numHeads, U32 numKvHeads, U32 length, F32 scale) {
    }

    /**
     * What a block works on: its shared query rows and logits, its thread, its head slot and key tile, the head and
     * its KV head, the estimation's {@code n} query rows from {@code firstRow}, and this thread's key {@code j}
     * ({@code valid} below the prompt's length).
     */
    private record Block(Inputs in, U32 queryTile, U32 logits, U32 tid, U32 slot, U32 tile, U32 head, U32 kvHead,
                         U32 n, U32 firstRow, U32 j, Pred valid) {
    }

    /**
     * Tensor cores, from the query rows in shared memory ({@link #loadQueryRows}): each warp owns 32 keys, whose B
     * fragments it reads straight from global memory (key rows past the prompt clamped to its last row, their logits
     * masked), and computes 16 rows at a time with mma.m16n8k16, f32 accumulation.
     */
    private void tensorCoreLogits(KernelBuilder k, Block block) {
        U64 keys = block.in().keys();
        U32 numKvHeads = block.in().numKvHeads(), length = block.in().length();
        F32 scale = block.in().scale();
        U32 queryTile = block.queryTile(), logits = block.logits(), tid = block.tid(), tile = block.tile();
        U32 kvHead = block.kvHead(), firstRow = block.firstRow();
        int d = headDim;
        int queryRowBytes = queryRowBytes();

        U32 lane = k.and(tid, 31);
        U32 warp = k.shr(tid, 5);
        U32 group = k.shr(lane, 2);
        U32 quad = k.and(lane, 3);
        U32 warpKey = k.shl(warp, 5).named("warpKey");
        U32 lastKey = k.sub(length, 1);
        Bf16x2 model = k.packBf16(k.f32(0), k.f32(0));
        List<List<FragmentB<Bf16x2>>> b = new ArrayList<>();
        for (int nt = 0; nt < 4; nt++) {
            U32 key = k.min(k.add(k.mad(tile, k.u32(COLUMNS), warpKey), k.add(group, 8 * nt)), lastKey);
            U64 rowStart = k.add(k.add(keys, k.mulWide(k.mad(key, numKvHeads, kvHead), 2L * d)),
                    k.mulWide(quad, 4));
            List<FragmentB<Bf16x2>> steps = new ArrayList<>();
            for (int ks = 0; ks < d / 16; ks++) {
                Bf16x2 low = k.emitter().like(model, "keyFrag");
                Bf16x2 high = k.emitter().like(model, "keyFrag");
                k.emitter().instruction("ld.global.b32", low, Address.global(rowStart).plus(32L * ks));
                k.emitter().instruction("ld.global.b32", high, Address.global(rowStart).plus(32L * ks + 16));
                steps.add(new FragmentB<>(List.of(low, high)));
            }
            b.add(steps);
        }
        U32 laneRowAddress = k.add(k.mad(k.and(lane, 15), k.u32(queryRowBytes), queryTile),
                k.shl(k.shr(lane, 4), 4)).named("ldmatrixRow");
        U32 laneColumn = k.add(warpKey, k.shl(quad, 1)).named("laneColumn");
        U32 firstKey = k.mul(tile, COLUMNS);
        k.loop(k.u32(0), k.u32(ROWS), 16, rowBase -> {
            FragmentC[] acc = new FragmentC[4];
            for (int nt = 0; nt < 4; nt++) acc[nt] = k.zeroAccumulator("logit");
            U32 rowAddress = k.mad(rowBase, k.u32(queryRowBytes), laneRowAddress);
            for (int ks = 0; ks < d / 16; ks++) {
                FragmentA<Bf16x2> a = new FragmentA<>(k.loadMatrix(HalfType.BF16,
                        Address.shared(rowAddress).plus(32L * ks), 4, false));
                for (int nt = 0; nt < 4; nt++) k.mma(acc[nt], a, b.get(nt).get(ks));
            }
            for (int half = 0; half < 2; half++) {
                U32 row = k.add(k.add(rowBase, group), 8 * half);
                U32 position = k.add(firstRow, row);
                for (int nt = 0; nt < 4; nt++) {
                    U32 column = k.add(laneColumn, 8 * nt);
                    F32[] pair = new F32[2];
                    for (int c = 0; c < 2; c++) {
                        U32 key = k.add(k.add(firstKey, column), c);
                        Pred masked = k.or(k.ge(key, length), k.gt(key, position));
                        pair[c] = k.select(masked, k.f32(Float.NEGATIVE_INFINITY),
                                k.mul(acc[nt].regs().get(2 * half + c), scale));
                    }
                    k.storeVector(Address.shared(k.mad(k.mad(row, k.u32(LOGIT_STRIDE), column), k.u32(4), logits)),
                            pair[0], pair[1]);
                }
            }
        });
    }

    /** Bytes between query rows in shared memory for the tensor cores: 16 more than a row, for ldmatrix. */
    private int queryRowBytes() {
        return 2 * headDim + 16;
    }

    /**
     * Tensor cores: the query rows into shared memory as bf16, rows padded ({@link #queryRowBytes}), zeros from row
     * {@code n} on. Each thread copies chunks {@code tid, tid + 256, ...} of the tile's 16-byte chunks, all its loads
     * issued before the first select or store. (A loop of 4-byte words, a load and a store an iteration, waited for
     * a round trip to L2 per word: sixteen in a row at d 128.) Rows past {@code n} read row {@code n - 1} and store
     * zeros, so that no load waits behind a branch.
     */
    private void loadQueryRows(KernelBuilder k, Block block) {
        int chunksPerRow = headDim / 8;
        int chunks = ROWS * chunksPerRow;
        int perThread = (chunks + COLUMNS - 1) / COLUMNS;
        U32 lastRow = k.sub(block.n(), 1);
        U32[] rows = new U32[perThread];
        U32[] offsets = new U32[perThread];
        B32[][] loaded = new B32[perThread][];
        for (int i = 0; i < perThread; i++) {
            U32 chunk = k.add(block.tid(), COLUMNS * i);
            rows[i] = k.div(chunk, chunksPerRow);
            offsets[i] = k.shl(k.rem(chunk, chunksPerRow), 4);
            U32 qRow = k.mad(k.add(block.firstRow(), k.min(rows[i], lastRow)), block.in().numHeads(), block.head());
            U64 rowStart = k.add(block.in().q(), k.mulWide(qRow, 2L * headDim));
            loaded[i] = k.loadB32x4(Address.global(k.add(rowStart, k.toU64(offsets[i]))));
        }
        for (int i = 0; i < perThread; i++) {
            Pred inside = k.lt(rows[i], block.n());
            B32[] word = new B32[4];
            for (int m = 0; m < 4; m++) word[m] = k.select(inside, loaded[i][m], k.b32(0));
            Address target = Address.shared(k.add(k.mad(rows[i], k.u32(queryRowBytes()), block.queryTile()),
                    offsets[i]));
            if (COLUMNS * (i + 1) <= chunks) {
                k.storeVector(target, word);
            } else {
                k.ifThen(k.lt(rows[i], k.u32(ROWS)), () -> k.storeVector(target, word));
            }
        }
    }

    /** CUDA cores: the query rows into shared memory as f32, a 4-byte word (two values) a thread at a time. */
    private void loadQueryRowsAsFloats(KernelBuilder k, Block block) {
        int d = headDim;
        int wordsPerRow = d / 2;
        k.loop(block.tid(), k.mul(block.n(), wordsPerRow), COLUMNS, w -> {
            U32 r = k.div(w, wordsPerRow);
            U32 e = k.rem(w, wordsPerRow);
            U32 qRow = k.mad(k.add(block.firstRow(), r), block.in().numHeads(), block.head());
            U64 rowStart = k.add(block.in().q(), k.mulWide(qRow, 2L * d));
            B32 word = k.loadB32(Address.global(k.add(rowStart, k.mulWide(e, 4))));
            F32 low = k.bitsAsF32(k.shl(word, 16));
            F32 high = k.bitsAsF32(k.and(word, k.b32(0xFFFF0000)));
            U32 at = k.mad(k.add(k.mul(r, d), k.shl(e, 1)), k.u32(4), block.queryTile());
            k.storeVector(Address.shared(at), low, high);
        });
    }

    /** CUDA cores: each thread holds one key row in registers and dots it with every query row from shared memory. */
    private void cudaCoreLogits(KernelBuilder k, Block block) {
        U64 keys = block.in().keys();
        U32 numKvHeads = block.in().numKvHeads();
        F32 scale = block.in().scale();
        U32 queryTile = block.queryTile(), logits = block.logits(), tid = block.tid();
        U32 kvHead = block.kvHead(), n = block.n(), firstRow = block.firstRow(), j = block.j();
        Pred valid = block.valid();
        int d = headDim;
        int wordsPerRow = d / 2;
        B32[] key = new B32[wordsPerRow];
        for (int w = 0; w < wordsPerRow; w++) key[w] = k.var("key" + w, k.b32(0));
        k.ifThen(valid, () -> {
            U32 kRow = k.mad(j, numKvHeads, kvHead);
            U64 rowStart = k.add(keys, k.mulWide(kRow, 2L * d));
            for (int v = 0; v < d / 8; v++) {
                B32[] four = k.loadB32x4(Address.global(rowStart).plus(16L * v));
                for (int m = 0; m < 4; m++) k.set(key[4 * v + m], four[m]);
            }
        });
        k.loop(k.u32(0), n, 1, r -> {
            U32 rowAt = k.mad(r, k.u32(4L * d), queryTile);
            F32[] partial = new F32[4];
            for (int v = 0; v < d / 4; v++) {
                F32[] q4 = k.loadF32x4(Address.shared(rowAt).plus(16L * v));
                B32 w0 = key[2 * v];
                B32 w1 = key[2 * v + 1];
                F32[] k4 = {k.bitsAsF32(k.shl(w0, 16)), k.bitsAsF32(k.and(w0, k.b32(0xFFFF0000))),
                        k.bitsAsF32(k.shl(w1, 16)), k.bitsAsF32(k.and(w1, k.b32(0xFFFF0000)))};
                for (int m = 0; m < 4; m++) {
                    partial[m] = v == 0 ? k.mul(q4[m], k4[m]) : k.mad(q4[m], k4[m], partial[m]);
                }
            }
            F32 dot = k.add(k.add(partial[0], partial[1]), k.add(partial[2], partial[3]));
            Pred masked = k.or(k.not(valid), k.gt(j, k.add(firstRow, r)));
            F32 value = k.select(masked, k.f32(Float.NEGATIVE_INFINITY), k.mul(dot, scale));
            k.store(Address.shared(k.mad(k.mad(r, k.u32(LOGIT_STRIDE), tid), k.u32(4), logits)), value);
        });
    }

    private static void rowStatistics(KernelBuilder k, U64 stats, Block block) {
        U32 slot = block.slot(), tile = block.tile(), logits = block.logits(), tid = block.tid(), n = block.n();
        U32 lane = k.and(tid, 31);
        U32 warp = k.shr(tid, 5);
        k.loop(warp, n, COLUMNS / 32, r -> {
            U32 rowAt = k.mad(k.mad(r, k.u32(LOGIT_STRIDE), lane), k.u32(4), logits);
            F32[] x = new F32[COLUMNS / 32];
            F32 max = null;
            for (int m = 0; m < x.length; m++) {
                x[m] = k.loadF32(Address.shared(rowAt).plus(128L * m));
                max = m == 0 ? x[m] : k.max(max, x[m]);
            }
            for (int mask = 16; mask >= 1; mask /= 2) max = k.max(max, k.shuffleXor(max, mask));
            F32 base = k.select(k.eq(max, k.f32(Float.NEGATIVE_INFINITY)), k.f32(0), max);
            F32 sum = null;
            for (F32 value : x) {
                F32 e = k.ex2(k.sub(value, base));
                sum = sum == null ? e : k.add(sum, e);
            }
            for (int mask = 16; mask >= 1; mask /= 2) sum = k.add(sum, k.shuffleXor(sum, mask));
            F32 rowMax = max;
            F32 rowSum = sum;
            k.ifThen(k.eq(lane, 0), () -> {
                U32 at = k.mad(k.mad(slot, k.gridDim(Axis.Y), tile), k.u32(ROWS), r);
                k.storeVector(k.element(stats, at, 8), rowMax, rowSum);
            });
        });
    }

    private static void scores(KernelBuilder k, U32 rowStatsTile, U64 scores, Block block) {
        U32 slot = block.slot(), tile = block.tile(), logits = block.logits(), tid = block.tid(), n = block.n();
        U32 length = block.in().length(), j = block.j();
        Pred valid = block.valid();
        F32 columnSum = k.var("columnSum", k.f32(0));
        k.loop(k.u32(0), n, 1, r -> {
            F32[] stat = k.loadF32x2(Address.shared(k.add(rowStatsTile, k.shl(r, 3))));
            Address at = Address.shared(k.mad(k.mad(r, k.u32(LOGIT_STRIDE), tid), k.u32(4), logits));
            F32 p = k.mul(k.ex2(k.sub(k.loadF32(at), stat[0])), stat[1]);
            k.store(at, p);
            k.set(columnSum, k.add(columnSum, p));
        });
        U32 vertical = k.mul(k.mul(slot, 2), length);
        k.ifThen(valid, () -> k.store(k.element(scores, k.add(vertical, j), 4), columnSum));
        k.barrier();
        // Diagonal u of the tile holds rows r at tile column t = r + COLUMNS - 1 - u, so
        // delta = L - n - tile * COLUMNS - (COLUMNS - 1) + u.
        U32 slash = k.add(vertical, length);
        S32 firstDelta = k.sub(k.toS32(k.sub(length, n)), k.toS32(k.mad(tile, k.u32(COLUMNS), k.u32(COLUMNS - 1))));
        k.loop(tid, k.add(n, k.u32(COLUMNS - 1)), COLUMNS, u -> {
            S32 delta = k.add(firstDelta, k.toS32(u));
            k.ifThen(k.ge(delta, k.s32(0)), () -> {
                U32 low = k.select(k.ge(u, k.u32(COLUMNS - 1)), k.sub(u, COLUMNS - 1), k.u32(0));
                U32 high = k.min(n, k.add(u, 1));
                F32 sum = k.var("diagonalSum", k.f32(0));
                k.loop(low, high, 1, r -> {
                    U32 column = k.sub(k.add(r, k.u32(COLUMNS - 1)), u);
                    F32 p = k.loadF32(Address.shared(k.mad(k.mad(r, k.u32(LOGIT_STRIDE), column), k.u32(4), logits)));
                    k.set(sum, k.add(sum, p));
                });
                k.reduceAdd(k.element(scores, k.add(slash, k.toU32(delta)), 4), sum);
            });
        });
    }
}
