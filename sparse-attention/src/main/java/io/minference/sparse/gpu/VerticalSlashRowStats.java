package io.minference.sparse.gpu;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * Combines the per-tile row statistics of {@link VerticalSlashTile} into each estimation row's softmax maximum and
 * reciprocal sum: {@code rowStats[(slot * 64 + r) * 2] = (max, 1 / Σ 2^(x - max))} (log2 units).
 * <p>Each row has {@link #WORKERS} threads, each folding every {@code WORKERS}-th tile's (max, sum) into its own
 * running pair ({@code sum · 2^(max - max')} as the maximum moves), {@link #BATCH} tiles' loads issued before any is
 * folded; the row's first worker then folds the others' pairs from shared memory. (One thread a row, reading every
 * tile twice in a row, waited for a load a tile: 8,192 of them a row at a million tokens, on two warps a head.)
 * <p>Parameters: {@code params} (int32 {@link HeadParameters}), {@code stats}, {@code rowStats} (f32), {@code tiles,
 * length} (u32). Launch: grid = heads of the batch, {@link #THREADS} threads.
 */
public record VerticalSlashRowStats() implements KernelDefinition {
    /** Threads folding one row's tiles. */
    static final int WORKERS = 8;
    /** Tiles whose statistics a worker loads before folding them. */
    static final int BATCH = 4;
    public static final int THREADS = VerticalSlashTile.ROWS * WORKERS;

    @Override
    public String entryName() {
        return "vertical_slash_row_stats_combine";
    }

    @Override
    public void define(KernelBuilder k) {
        U64 params = k.pointerParam("params");
        U64 stats = k.pointerParam("stats");
        U64 rowStats = k.pointerParam("rowStats");
        U32 tiles = k.u32Param("tiles");
        U32 length = k.u32Param("length");
        k.maxThreadsPerBlock(THREADS);
        int rows = VerticalSlashTile.ROWS;
        U32 partials = k.sharedArray("rowPartials", THREADS * 8);
        U32 tid = k.threadIdx();
        // a warp's lanes are consecutive rows of one worker, so that its loads of a tile's statistics are contiguous
        U32 r = k.and(tid, rows - 1).named("row");
        U32 worker = k.shr(tid, Integer.numberOfTrailingZeros(rows)).named("worker");
        U32 slot = k.blockIdx();
        U32 code = k.loadU32(k.element(params, k.mul(slot, HeadParameters.STRIDE), 4));
        U32 n = k.min(length, k.u32(rows));
        k.ifThen(k.eq(code, HeadParameters.VERTICAL_SLASH), () -> {
            U32 first = k.mul(k.mul(slot, tiles), rows);
            F32 max = k.var("max", k.f32(Float.NEGATIVE_INFINITY));
            F32 sum = k.var("sum", k.f32(0));
            EstimationOps.batchedLoop(k, worker, tiles, WORKERS, BATCH,
                    tile -> k.loadF32x2(k.element(stats, k.add(k.mad(tile, k.u32(rows), first), r), 8)),
                    (tile, stat) -> fold(k, max, sum, stat[0], stat[1]));
            Address mine = Address.shared(k.add(partials, k.shl(tid, 3)));
            k.storeVector(mine, max, sum);
            k.barrier();
            k.ifThen(k.and(k.eq(worker, 0), k.lt(r, n)), () -> {
                for (int w = 1; w < WORKERS; w++) {
                    F32[] other = k.loadF32x2(mine.plus(8L * rows * w));
                    fold(k, max, sum, other[0], other[1]);
                }
                k.storeVector(k.element(rowStats, k.mad(slot, k.u32(rows), r), 8), max, k.div(k.f32(1), sum));
            });
        });
    }

    /**
     * Folds a (max, sum) pair into the running one: {@code max' = max(max, m)}, {@code sum' = sum 2^(max - max') +
     * s 2^(m - max')}, with a maximum of -inf on both sides (rows no key of either part reaches) leaving the sum 0.
     */
    private static void fold(KernelBuilder k, F32 max, F32 sum, F32 otherMax, F32 otherSum) {
        F32 merged = k.max(max, otherMax);
        F32 base = k.select(k.eq(merged, k.f32(Float.NEGATIVE_INFINITY)), k.f32(0), merged);
        k.set(sum, k.add(k.mul(sum, k.ex2(k.sub(max, base))), k.mul(otherSum, k.ex2(k.sub(otherMax, base)))));
        k.set(max, merged);
    }
}
