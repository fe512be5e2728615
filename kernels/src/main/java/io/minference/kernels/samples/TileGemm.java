package io.minference.kernels.samples;

import io.minference.ptx.dsl.Bf16x2;
import io.minference.ptx.dsl.FragmentA;
import io.minference.ptx.dsl.FragmentB;
import io.minference.ptx.dsl.FragmentC;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.ptx.tile.AccumulatorStore;
import io.minference.ptx.tile.FragmentLoader;
import io.minference.ptx.tile.SharedTile;
import io.minference.ptx.tile.TileCopy;
import io.minference.ptx.tile.TileLayout;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static io.minference.ptx.dsl.HalfType.BF16;

/**
 * {@code C = A * B^T} on the tensor cores: C [M][N] f32 row-major, A [M][K] bf16 row-major, B stored [N][K] bf16
 * row-major (each row of B is one output column, as in a Linear layer's weight), accumulating in f32.
 * <p>Each block computes one {@code blockM x blockN} tile of C, walking K in {@code blockK}-wide steps through a
 * {@code stages}-deep cp.async pipeline: global -> swizzled shared tiles -> ldmatrix -> mma.sync.m16n8k16.
 * <p>Parameters: {@code a, b, c} (u64 device pointers), {@code m, n, k} (u32). Requires M % blockM == 0,
 * N % blockN == 0, K % blockK == 0 (the kernel does not check) and 16-byte aligned pointers.
 * Launch: grid {@code (N / blockN, M / blockM)}, block {@link #threads()} threads,
 * dynamic shared memory {@link #sharedBytes()} bytes (above 48 KiB: set
 * CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES first). The single-tile 128x128x64 GEMM is the launch
 * M = N = 128, K = 64 with grid (1, 1).
 */
public record TileGemm(int blockM, int blockN, int blockK, int warpsM, int warpsN, int stages)
        implements KernelDefinition {
    public TileGemm {
        if (blockM % (16 * warpsM) != 0 || blockN % (16 * warpsN) != 0 || blockK % 64 != 0 || stages < 2) {
            throw new IllegalArgumentException("need blockM % 16*warpsM == 0, blockN % 16*warpsN == 0, blockK % 64 == 0"
                    + " and stages >= 2; got " + this);
        }
    }

    /** 128x128x64 tiles, 8 warps as 2x4 (64x32 each), 3 stages: 96 KiB of shared memory. */
    public static TileGemm bf16() {
        return new TileGemm(128, 128, 64, 2, 4, 3);
    }

    public int threads() {
        return 32 * warpsM * warpsN;
    }

    public int sharedBytes() {
        return stages * (blockM + blockN) * blockK * 2;
    }

    @Override
    public String entryName() {
        return "tile_gemm_bf16_%dx%dx%d_w%dx%d_s%d".formatted(blockM, blockN, blockK, warpsM, warpsN, stages);
    }

    @Override
    public void define(KernelBuilder k) {
        U64 a = k.pointerParam("a");
        U64 b = k.pointerParam("b");
        U64 c = k.pointerParam("c");
        k.u32Param("m");
        U32 n = k.u32Param("n");
        U32 kdim = k.u32Param("k");
        k.maxThreadsPerBlock(threads());
        int warpM = blockM / warpsM;
        int warpN = blockN / warpsN;
        int stageBytes = sharedBytes() / stages;

        SharedTile tileA = new SharedTile(blockM, blockK, 2, TileLayout.swizzled(), 0);
        SharedTile tileB = tileA.following(blockN, blockK);
        U32 smem = k.dynamicShared(sharedBytes());
        U32 tid = k.threadIdx();
        U32 lane = k.and(tid, 31).named("lane");
        U32 warp = k.shr(tid, 5).named("warp");
        U32 warpRow = k.mul(k.div(warp, warpsN), warpM).named("warpRow");
        U32 warpCol = k.mul(k.rem(warp, warpsN), warpN).named("warpCol");
        U32 rowBytesAB = k.mul(kdim, 2).named("rowBytesAB");
        U32 blockRow = k.mul(k.blockIdx(Axis.Y), blockM).named("blockRow");
        U32 blockCol = k.mul(k.blockIdx(Axis.X), blockN).named("blockCol");
        U64 aTiles = k.add(a, k.mulWide(blockRow, rowBytesAB)).named("aTiles");
        U64 bTiles = k.add(b, k.mulWide(blockCol, rowBytesAB)).named("bTiles");
        TileCopy copyA = new TileCopy(k, tileA, tid, threads(), rowBytesAB);
        TileCopy copyB = new TileCopy(k, tileB, tid, threads(), rowBytesAB);
        FragmentLoader fragA = FragmentLoader.forA(k, tileA, lane, warpRow);
        FragmentLoader fragB = FragmentLoader.forB(k, tileB, lane, warpCol);
        FragmentC[][] acc = new FragmentC[warpM / 16][warpN / 8];
        for (FragmentC[] row : acc) {
            for (int j = 0; j < row.length; j++) {
                row[j] = k.zeroAccumulator("acc");
            }
        }
        U32 kTiles = k.div(kdim, blockK).named("kTiles");

        k.comment("pipeline: stage s holds k-tile s, s + stages, ...; one commit group per k-tile");
        Consumer<U32> loadTile = kt -> {
            U32 base = k.mad(k.rem(kt, stages), k.u32(stageBytes), smem);
            U64 kOffset = k.mulWide(kt, blockK * 2);
            copyA.copy(k, base, k.add(aTiles, kOffset));
            copyB.copy(k, base, k.add(bTiles, kOffset));
        };
        for (int s = 0; s < stages - 1; s++) {
            U32 kt = k.u32(s);
            k.ifThen(k.lt(kt, kTiles), () -> loadTile.accept(kt));
            k.commitGroup();
        }
        k.loop(k.u32(0), kTiles, 1, kt -> {
            k.waitGroups(stages - 2);
            k.barrier();
            U32 ahead = k.add(kt, stages - 1);
            k.ifThen(k.lt(ahead, kTiles), () -> loadTile.accept(ahead));
            k.commitGroup();
            U32 base = k.mad(k.rem(kt, stages), k.u32(stageBytes), smem).named("stage");
            for (int kk = 0; kk < blockK; kk += 16) {
                List<FragmentA<Bf16x2>> as = new ArrayList<>();
                for (int mi = 0; mi < acc.length; mi++) {
                    as.add(fragA.loadA(k, BF16, base, mi * 16, kk));
                }
                List<FragmentB<Bf16x2>> bs = new ArrayList<>();
                for (int nj = 0; nj < acc[0].length; nj += 2) {
                    bs.addAll(fragB.loadB(k, BF16, base, nj * 8, kk));
                }
                for (int mi = 0; mi < acc.length; mi++) {
                    for (int ni = 0; ni < acc[mi].length; ni++) {
                        k.mma(acc[mi][ni], as.get(mi), bs.get(ni));
                    }
                }
            }
        });

        k.comment("epilogue: each warp writes its " + warpM + "x" + warpN + " block of C");
        AccumulatorStore out = new AccumulatorStore(k, lane, k.mul(n, 4));
        U64 cWarp = k.add(out.rowStart(k, c, k.add(blockRow, warpRow)), k.mulWide(k.add(blockCol, warpCol), 4));
        for (int mi = 0; mi < acc.length; mi++) {
            U64 rows = out.rowStart(k, cWarp, k.u32(mi * 16));
            for (int ni = 0; ni < acc[mi].length; ni++) {
                out.store(k, acc[mi][ni], rows, ni * 8);
            }
        }
    }
}
