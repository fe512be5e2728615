package io.minference.kernels.flash;

import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.S32;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.ptx.tile.AccumulatorTile;
import io.minference.ptx.tile.OnlineSoftmax;
import io.minference.ptx.tile.RowTileLoad;

/**
 * Causal flash attention for prefill (FlashAttention-2's forward pass) on the tensor cores, bf16 in and out with
 * f32 accumulation, for head dimension 64 or 128.
 * <p>Each block owns {@code blockM} query rows of one head, 16 per warp. Q is read once into registers as mma A
 * fragments; the block then walks the key tiles of {@code blockN} keys up to its last query's position through a
 * {@code stages}-deep cp.async pipeline of swizzled K and V tiles: S = Q K^T (ldmatrix + mma), the online softmax
 * in exp2 ({@link OnlineSoftmax}), P kept in registers as the A operand of O += P V (V read with ldmatrix.trans).
 * Only the tiles that cross the diagonal are masked; tiles past the last query's position are never loaded. The
 * body is {@link FlashKeyLoop}'s, shared with the sparse kernel; this kernel is its causal key-tile source.
 * <p>Parameters: {@code q, k, v, o} (u64, the layout of {@link io.minference.kernels.flash}), {@code count} (u32,
 * T queries), {@code start} (u32, position of the first query), {@code numHeads}, {@code numKvHeads} (u32),
 * {@code scale} (f32, 1/sqrt(d) * log2 e). Launch: grid {@code (numHeads, ceil(T / blockM))}, block
 * {@link #threads()}, dynamic shared memory {@link #sharedBytes()}. Query blocks run last-first (the longest
 * ones start first), all heads of one query block side by side so that heads sharing a KV head share it in L2.
 */
public record FlashPrefill(int headDim, int blockM, int blockN, int stages) implements KernelDefinition {
    public FlashPrefill {
        if (headDim != 64 && headDim != 128) {
            throw new IllegalArgumentException("the tensor-core prefill handles head dims 64 and 128, not " + headDim
                    + " (use FlashFallback)");
        }
        if (blockM % 16 != 0 || blockM < 16 || blockM > 256 || blockN % 16 != 0 || blockN < 16 || stages < 2) {
            throw new IllegalArgumentException("need blockM a multiple of 16 in 16..256, blockN a multiple of 16 and"
                    + " stages >= 2; got " + this);
        }
    }

    /** The tuned shape for a head dim: 128 query rows (8 warps), 64-key tiles, 3 stages. */
    public static FlashPrefill forHeadDim(int headDim) {
        return new FlashPrefill(headDim, 128, 64, 3);
    }

    public int threads() {
        return 32 * blockM / 16;
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
        return "flash_prefill_bf16_d%d_m%d_n%d_s%d".formatted(headDim, blockM, blockN, stages);
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
        FlashKeyLoop loop = new FlashKeyLoop(headDim, blockM, blockN, stages);
        loop.emit(k, lane, warp, smem, tiles, scale, () -> {
            k.comment("Q block (rows past the end zeroed), then the first key/value tiles: one commit group each");
            queryLoad.copy(k, smem, k.add(qHead, k.mulWide(firstRow, qRowBytes)), firstRow, count, q);
        }, new CausalTiles(k, new KeyValueRows(keyLoad, kvRowBytes, kHead, vHead, kCache, vCache), tiles,
                new CausalSpan(kvLength, firstPosition, keyTiles, firstMaskedTile)),
                new FlashKeyLoop.Output(() -> k.add(k.add(o, k.mulWide(head, rowBytes())), k.mulWide(firstRow,
                        qRowBytes)), qRowBytes, rowsHere, false));
    }

    /**
     * Where the key and value rows come from: the block's row loader, the row pitch of the K/V cache, the KV head's
     * first K and V rows, and the caches' bases (a masked row's copy names those, never reading past them).
     */
    private record KeyValueRows(RowTileLoad load, U32 rowBytes, U64 kHead, U64 vHead, U64 kCache, U64 vCache) {
    }

    /**
     * The block's causal extent: the keys that exist ({@code kvLength}), the block's first query position, its key
     * tiles and the first of them that crosses the diagonal.
     */
    private record CausalSpan(U32 kvLength, U32 firstPosition, U32 keyTiles, U32 firstMaskedTile) {
    }

    /**
     * The causal source: key tiles {@code [0, keyTiles)} up to the block's last position, those wholly below the
     * diagonal first and unmasked, then those crossing it, masked by position.
     */
    private final class CausalTiles implements FlashKeyLoop.KeyTileSource {
        private final KernelBuilder k;
        private final KeyValueRows rows;
        private final U32 kvStages;
        private final CausalSpan span;
        private U32 laneFirstPosition;
        private U32 pair;

        CausalTiles(KernelBuilder k, KeyValueRows rows, U32 kvStages, CausalSpan span) {
            this.k = k;
            this.rows = rows;
            this.kvStages = kvStages;
            this.span = span;
        }

        @Override
        public U32 tiles() {
            return span.keyTiles();
        }

        @Override
        public void load(U32 tile) {
            U32 stage = k.mad(k.rem(tile, stages), k.u32(stageBytes()), kvStages);
            U32 firstKey = k.mul(tile, blockN);
            U64 offset = k.mulWide(firstKey, rows.rowBytes());
            rows.load().copy(k, stage, k.add(rows.kHead(), offset), firstKey, span.kvLength(), rows.kCache());
            rows.load().copy(k, k.add(stage, blockN * rowBytes()), k.add(rows.vHead(), offset), firstKey,
                    span.kvLength(), rows.vCache());
        }

        @Override
        public void prepare(FlashKeyLoop.LaneRows lanes) {
            pair = lanes.pair();
            laneFirstPosition = k.add(span.firstPosition(), k.add(lanes.warpRow(), lanes.group()))
                    .named("lanePosition");
        }

        @Override
        public void walk(FlashKeyLoop.Step step) {
            k.comment("key tiles wholly below the diagonal: no mask");
            k.loop(k.u32(0), span.firstMaskedTile(), 1, tile -> step.run(tile, null));
            k.comment("key tiles that cross the diagonal: keys past each row's position are masked");
            k.loop(span.firstMaskedTile(), span.keyTiles(), 1, tile -> step.run(tile, (masked, scores) ->
                    maskAboveDiagonal(k, scores, k.sub(laneFirstPosition, k.add(k.mul(masked, blockN), pair)))));
        }
    }

    /**
     * Sets to -inf the scores of keys past the lane's query positions. {@code limit} is the lane's first row's
     * position minus the tile's first key minus the lane's column pair: entry (half, fragment f, column c) is kept
     * while {@code 8f + c <= limit + 8 half}.
     */
    private static void maskAboveDiagonal(KernelBuilder k, AccumulatorTile scores, U32 limit) {
        S32 signedLimit = k.toS32(limit);
        for (int half = 0; half < 2; half++) {
            S32 rowLimit = half == 0 ? signedLimit : k.add(signedLimit, 8);
            for (int f = 0; f < scores.fragmentCount(); f++) {
                for (int c = 0; c < 2; c++) {
                    F32 score = scores.at(half, f, c);
                    k.set(score, k.select(k.lt(rowLimit, k.s32(8 * f + c)), k.f32(Float.NEGATIVE_INFINITY), score));
                }
            }
        }
    }
}
