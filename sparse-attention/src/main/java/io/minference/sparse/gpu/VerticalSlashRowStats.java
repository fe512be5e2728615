package io.minference.sparse.gpu;

import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * Combines the per-tile row statistics of {@link VerticalSlashTile} into each estimation row's softmax maximum and
 * reciprocal sum: {@code rowStats[(slot * 64 + r) * 2] = (max, 1 / Σ 2^(x - max))} (log2 units).
 * <p>Parameters: {@code params} (int32 {@link HeadParameters}), {@code stats}, {@code rowStats} (f32), {@code tiles,
 * length} (u32). Launch: grid = heads of the batch, 64 threads (one per row).
 */
public record VerticalSlashRowStats() implements KernelDefinition {
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
        k.maxThreadsPerBlock(VerticalSlashTile.ROWS);
        U32 r = k.threadIdx();
        U32 slot = k.blockIdx();
        U32 code = k.loadU32(k.element(params, k.mul(slot, HeadParameters.STRIDE), 4));
        U32 n = k.min(length, k.u32(VerticalSlashTile.ROWS));
        k.ifThen(k.and(k.eq(code, HeadParameters.VERTICAL_SLASH), k.lt(r, n)), () -> {
            U32 first = k.mul(k.mul(slot, tiles), VerticalSlashTile.ROWS);
            F32 max = k.var("max", k.f32(Float.NEGATIVE_INFINITY));
            k.loop(k.u32(0), tiles, 1, t -> {
                F32[] stat = k.loadF32x2(k.element(stats, k.add(k.mad(t, k.u32(VerticalSlashTile.ROWS), first), r), 8));
                k.set(max, k.max(max, stat[0]));
            });
            F32 sum = k.var("sum", k.f32(0));
            k.loop(k.u32(0), tiles, 1, t -> {
                F32[] stat = k.loadF32x2(k.element(stats, k.add(k.mad(t, k.u32(VerticalSlashTile.ROWS), first), r), 8));
                k.set(sum, k.mad(stat[1], k.ex2(k.sub(stat[0], max)), sum));
            });
            k.storeVector(k.element(rowStats, k.mad(slot, k.u32(VerticalSlashTile.ROWS), r), 8), max,
                    k.div(k.f32(1), sum));
        });
    }
}
