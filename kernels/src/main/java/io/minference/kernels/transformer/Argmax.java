package io.minference.kernels.transformer;

import io.minference.kernels.transformer.LaunchChecks.Buffer;
import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.ptx.dsl.Unroll;
import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.LaunchShape;

/**
 * Greedy decoding's pick: for each row of f32 logits, the index of the largest value, ties to the lowest index.
 * NaN never wins; a row of NaN only gives -1. A block reduction of (value, index) pairs: each thread scans a strided
 * slice, warps merge by butterfly shuffles, then warp 0 merges the warps' winners. The CPU twin is
 * {@link CpuArgmax}, which it matches exactly (a maximum involves no rounding).
 * <p>Parameters: {@code logits} (f32 [rows][vocab]), {@code out} (s32 [rows]), {@code vocab} (u32). Launch: grid
 * {@code rows}, block {@code block}, no dynamic shared memory.
 *
 * @param block threads per block, a multiple of 32 up to 1024
 */
public record Argmax(int block) implements KernelDefinition {
    private static final String NAME = "argmax";
    private static final long NONE = 0xFFFF_FFFFL;

    public Argmax {
        if (block < 32 || block > 1024 || block % 32 != 0) {
            throw new IllegalArgumentException("block must be a multiple of 32 in 32..1024, got " + block);
        }
    }

    /** 1024 threads: one block reads a 128K vocabulary in 32 strided loads per thread. */
    public static Argmax wide() {
        return new Argmax(1024);
    }

    @Override
    public String entryName() {
        return "argmax_f32_" + block;
    }

    public LaunchShape shape(int rows) {
        return LaunchShape.of(rows, block);
    }

    /** The argmax of each of the first {@code rows} rows of {@code logits} ([rows][vocab]) into {@code out}. */
    public void launch(CudaStream stream, DeviceTensor logits, DeviceTensor out, int rows, int vocab) {
        LaunchChecks.positive(NAME, "rows", rows);
        LaunchChecks.positive(NAME, "vocab", vocab);
        LaunchChecks.holds(NAME, Buffer.of("logits", logits), DType.F32, (long) rows * vocab);
        LaunchChecks.holds(NAME, Buffer.of("out", out), DType.I32, rows);
        stream.context().kernel(emit(stream.context().device().ptxTarget()), shape(rows))
                .launch(stream, logits, out, vocab);
    }

    @Override
    public void define(KernelBuilder k) {
        U64 logits = k.pointerParam("logits");
        U64 out = k.pointerParam("out");
        U32 vocab = k.u32Param("vocab");
        k.maxThreadsPerBlock(block);
        k.describe("out[r] = argmax(logits[r]), ties to the lowest index, NaN ignored, -1 when all are NaN");
        U32 tid = k.threadIdx();
        U64 row = k.add(logits, k.mul(k.mulWide(k.blockIdx(), vocab), 4)).named("row");
        F32 best = k.var("best", k.f32(Float.NEGATIVE_INFINITY));
        U32 bestIndex = k.var("bestIndex", k.u32(NONE));

        k.comment("each thread: its indices rise, so only a strictly larger value (or a first non-NaN) replaces");
        k.loop(tid, vocab, k.u32(block), Unroll.by(4), i -> {
            F32 v = k.loadF32(k.element(row, i, 4));
            Pred first = k.and(k.eq(bestIndex, NONE), k.eq(v, v));
            Pred take = k.or(k.gt(v, best), first);
            k.set(best, k.select(take, v, best));
            k.set(bestIndex, k.select(take, i, bestIndex));
        });
        mergeWarp(k, best, bestIndex);

        int warps = block / 32;
        U32 values = k.sharedArray("warpBest", warps * 4);
        U32 indices = k.sharedArray("warpIndex", warps * 4);
        U32 lane = k.and(tid, 31).named("lane");
        U32 warp = k.shr(tid, 5).named("warp");
        k.ifThen(k.eq(lane, 0), () -> {
            k.store(k.element(values, warp, 4), best);
            k.store(k.element(indices, warp, 4), bestIndex);
        });
        k.barrier();
        k.ifThen(k.eq(warp, 0), () -> {
            k.set(best, k.f32(Float.NEGATIVE_INFINITY));
            k.set(bestIndex, k.u32(NONE));
            k.ifThen(k.lt(lane, warps), () -> {
                k.set(best, k.loadF32(k.element(values, lane, 4)));
                k.set(bestIndex, k.loadU32(k.element(indices, lane, 4)));
            });
            mergeWarp(k, best, bestIndex);
            k.ifThen(k.eq(lane, 0), () -> k.store(k.element(out, k.blockIdx(), 4), k.toS32(bestIndex)));
        });
    }

    /** Butterfly merge: every lane ends with the warp's (largest value, lowest index among those). */
    private static void mergeWarp(KernelBuilder k, F32 best, U32 bestIndex) {
        for (int mask = 16; mask >= 1; mask /= 2) {
            F32 other = k.shuffleXor(best, mask);
            U32 otherIndex = k.shuffleXor(bestIndex, mask);
            Pred take = k.or(k.gt(other, best), k.and(k.eq(other, best), k.lt(otherIndex, bestIndex)));
            k.set(best, k.select(take, other, best));
            k.set(bestIndex, k.select(take, otherIndex, bestIndex));
        }
    }
}
