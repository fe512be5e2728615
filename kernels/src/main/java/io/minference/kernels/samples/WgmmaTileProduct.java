package io.minference.kernels.samples;

import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.Bf16x2;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.FragmentA;
import io.minference.ptx.dsl.HalfType;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.MBarrier;
import io.minference.ptx.dsl.MatrixDescriptor;
import io.minference.ptx.dsl.TensorMapParam;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.ptx.dsl.WarpgroupAccumulator;
import io.minference.ptx.tile.WgmmaTile;

import java.util.ArrayList;
import java.util.List;

import static io.minference.ptx.dsl.Address.global;

/**
 * One 128 x 128 tile of each product the Hopper flash kernel computes, with its data paths and nothing else: the
 * debugging path for descriptor and layout mistakes. A producer warpgroup loads Q, K and V ({@code [128, 128]} bf16
 * each) with TMA into 128-byte-swizzled tiles; two consumer warpgroups, 64 rows each, compute
 * {@code S = Q Kᵀ} (A and B K-major from shared memory) and {@code O = X V} (A from registers as mma fragments,
 * B = V MN-major, transposed), and write both as f32 {@code [128, 128]}. X is read from global memory straight into
 * fragments, so O checks the register-A path independently of S.
 * <p>Parameters: {@code q, k, v} (tensor maps: dims {@code {128, 1, 128}}, box {@code {64, 1, 128}}, 128-byte
 * swizzle), {@code x, s, o} (u64). Launch: one block of {@link #THREADS}, dynamic shared memory
 * {@link #SHARED_BYTES}.
 */
public record WgmmaTileProduct() implements KernelDefinition {
    public static final int SIZE = 128;
    public static final int THREADS = 384;
    public static final int SHARED_BYTES = 3 * SIZE * SIZE * 2;

    @Override
    public String entryName() {
        return "wgmma_tile_product_128";
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
        U64 x = k.pointerParam("x");
        U64 s = k.pointerParam("s");
        U64 o = k.pointerParam("o");
        k.maxThreadsPerBlock(THREADS);
        k.minBlocksPerSm(1);
        k.describe("S = Q K^T and O = X V of one 128x128 tile through TMA and wgmma");
        U32 smem = k.dynamicShared(SHARED_BYTES, 1024);
        int tileBytes = SIZE * SIZE * 2;
        WgmmaTile q = new WgmmaTile(smem, SIZE, SIZE);
        WgmmaTile key = new WgmmaTile(k.add(smem, tileBytes), SIZE, SIZE);
        WgmmaTile value = new WgmmaTile(k.add(smem, 2 * tileBytes), SIZE, SIZE);
        MBarrier loaded = new MBarrier(k.sharedArray("loaded", MBarrier.BYTES));
        U32 tid = k.threadIdx();
        k.ifThen(k.eq(tid, 0), () -> {
            k.initBarrier(loaded, 1);
            k.fenceBarrierInit();
        });
        k.barrier();
        U32 warpgroup = k.shr(tid, 7).named("warpgroup");
        k.ifElse(k.eq(warpgroup, 0), () -> {
            k.decreaseRegisters(24);
            k.ifThen(k.eq(tid, 0), () -> {
                k.arriveExpectingBytes(loaded, 3 * tileBytes);
                U32 zero = k.u32(0);
                q.load(k, qMap, loaded, zero, zero);
                key.load(k, kMap, loaded, zero, zero);
                value.load(k, vMap, loaded, zero, zero);
            });
        }, () -> {
            k.increaseRegisters(240);
            int consumerRows = 64;
            U32 consumer = k.sub(warpgroup, 1).named("consumer");
            U32 lane = k.and(tid, 31).named("lane");
            U32 warpRow = k.add(k.mul(consumer, consumerRows), k.mul(k.and(k.shr(tid, 5), 3), 16)).named("warpRow");
            U32 group = k.shr(lane, 2).named("group");
            U32 pair = k.shl(k.and(lane, 3), 1).named("pair");
            k.comment("X fragments, rows warpRow + group (+8), straight from global memory");
            List<FragmentA<Bf16x2>> xFragments = new ArrayList<>();
            for (int step = 0; step < SIZE / 16; step++) {
                List<Bf16x2> regs = new ArrayList<>();
                for (int r = 0; r < 4; r++) {
                    U32 element = k.add(k.mul(k.add(warpRow, k.add(group, 8 * (r % 2))), SIZE),
                            k.add(pair, 16 * step + 8 * (r / 2)));
                    regs.add(k.loadPair(HalfType.BF16, k.element(x, element, 2)));
                }
                xFragments.add(new FragmentA<>(regs));
            }
            k.waitPhase(loaded, k.u32(0));

            WarpgroupAccumulator scores = k.warpgroupAccumulator("s", SIZE);
            WarpgroupAccumulator out = k.warpgroupAccumulator("o", SIZE);
            MatrixDescriptor qBase = q.kMajorBase(k);
            MatrixDescriptor keyBase = key.kMajorBase(k);
            U32 consumerOffset = k.mul(consumer, consumerRows * 128);
            MatrixDescriptor qRows = new MatrixDescriptor(k.add(qBase.bits(),
                    k.toU64(k.shr(consumerOffset, 4))));
            k.wgmmaFence();
            for (int step = 0; step < SIZE / 16; step++) {
                k.wgmma(scores, HalfType.BF16, q.kMajor(k, qRows, 0, step), key.kMajor(k, keyBase, 0, step),
                        step > 0, false);
            }
            k.wgmmaCommit();
            MatrixDescriptor valueBase = value.mnMajorBase(k);
            for (int step = 0; step < SIZE / 16; step++) {
                k.wgmma(out, xFragments.get(step), value.mnMajor(k, valueBase, step), step > 0, true);
            }
            k.wgmmaCommit();
            k.wgmmaWait(0);
            store(k, s, scores, warpRow, group, pair);
            store(k, o, out, warpRow, group, pair);
        });
    }

    private static void store(KernelBuilder k, U64 out, WarpgroupAccumulator acc, U32 warpRow, U32 group, U32 pair) {
        for (int r = 0; r < acc.regs().size(); r += 2) {
            U32 row = k.add(warpRow, k.add(group, 8 * ((r % 4) / 2)));
            U32 element = k.add(k.mul(row, SIZE), k.add(pair, 8 * (r / 4)));
            F32 low = acc.regs().get(r);
            k.storeVector(global(k.pointer(out, element, 4)), low, acc.regs().get(r + 1));
        }
    }
}
