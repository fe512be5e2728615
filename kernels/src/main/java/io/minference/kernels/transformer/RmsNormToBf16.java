package io.minference.kernels.transformer;

import io.minference.kernels.transformer.LaunchChecks.Buffer;
import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.LaunchShape;

/**
 * RMSNorm of each row of the f32 residual stream, written as the bf16 input of the next GEMM:
 * {@code out[r][j] = bf16((x[r][j] * s) * w[j])} with {@code s = 1 / sqrt(mean_j(x[r][j]^2) + eps)} (sqrt and
 * division correctly rounded, in f32). The residual adds before it happen in the GEMMs that produce the deltas
 * (cuBLASLt with beta = 1 accumulates the O and down projections into x), so the norm only reads x. The CPU twin:
 * {@link io.minference.kernels.cpu.RmsNorm}, rounded to bf16.
 * <p>Parameters: {@code x} (f32 [rows][dim]), {@code weight} (f32 [dim]), {@code out} (bf16 [rows][dim]),
 * {@code dim} (u32, a multiple of 8), {@code eps} (f32). Launch: grid {@code rows}, block {@code block}, no dynamic
 * shared memory; pointers 16-byte aligned. Each thread takes 8 columns (two 16-byte loads of x, one 16-byte store of
 * out) per step; the second pass re-reads x from the L1/L2 caches.
 *
 * @param block threads per block, a multiple of 32 up to 1024
 */
public record RmsNormToBf16(int block) implements KernelDefinition {
    private static final String NAME = "RMSNorm to bf16";

    public RmsNormToBf16 {
        if (block < 32 || block > 1024 || block % 32 != 0) {
            throw new IllegalArgumentException("block must be a multiple of 32 in 32..1024, got " + block);
        }
    }

    /** 256 threads a row. */
    public static RmsNormToBf16 plain() {
        return new RmsNormToBf16(256);
    }

    @Override
    public String entryName() {
        return "rms_norm_bf16_" + block;
    }

    public LaunchShape shape(int rows) {
        return LaunchShape.of(rows, block);
    }

    /** Normalizes the first {@code rows} rows of {@code x} into {@code out}. */
    public void launch(CudaStream stream, DeviceTensor x, DeviceTensor weight, DeviceTensor out, int rows, float eps) {
        long dim = weight.elementCount();
        check(Buffer.of("x", x), Buffer.of("weight", weight), Buffer.of("out", out), rows, dim);
        stream.context().kernel(emit(stream.context().device().ptxTarget()), shape(rows))
                .launch(stream, x, weight, out, (int) dim, eps);
    }

    void check(Buffer x, Buffer weight, Buffer out, int rows, long dim) {
        LaunchChecks.positive(NAME, "rows", rows);
        LaunchChecks.multipleOf(NAME, "dim (the weight's length)", dim, 8);
        LaunchChecks.holds(NAME, x, DType.F32, rows * dim);
        LaunchChecks.holds(NAME, weight, DType.F32, dim);
        LaunchChecks.holds(NAME, out, DType.BF16, rows * dim);
    }

    @Override
    public void define(KernelBuilder k) {
        U64 x = k.pointerParam("x");
        U64 weight = k.pointerParam("weight");
        U64 out = k.pointerParam("out");
        U32 dim = k.u32Param("dim");
        F32 eps = k.f32Param("eps");
        k.maxThreadsPerBlock(block);
        k.describe("out = bf16(x * rsqrt(mean(x^2) + eps) * weight), one block per row");
        U32 tid = k.threadIdx();
        U64 rowStart = k.mulWide(k.blockIdx(), dim).named("rowStart");
        U64 xRow = k.add(x, k.mul(rowStart, 4)).named("xRow");
        U64 outRow = k.add(out, k.mul(rowStart, 2)).named("outRow");
        U32 chunks = k.shr(dim, 3).named("chunks");

        F32 sumSq = k.var("sumSq", k.f32(0));
        k.comment("pass 1: the sum of squares");
        k.loop(tid, chunks, block, c -> {
            F32[] v = PtxOps.loadF32x8(k, k.element(xRow, c, 32));
            for (F32 value : v) k.set(sumSq, k.mad(value, value, sumSq));
        });
        F32 total = blockSum(k, tid, sumSq);
        F32 scale = k.div(k.f32(1f), k.sqrt(k.add(k.div(total, k.toF32(dim)), eps))).named("scale");

        k.comment("pass 2: scale, weight, round to bf16");
        k.loop(tid, chunks, block, c -> {
            F32[] v = PtxOps.loadF32x8(k, k.element(xRow, c, 32));
            F32[] w = PtxOps.loadF32x8(k, k.element(weight, c, 32));
            F32[] y = new F32[8];
            for (int i = 0; i < 8; i++) y[i] = k.mul(k.mul(v[i], scale), w[i]);
            k.storeVector(k.element(outRow, c, 16), PtxOps.packBf16(k, y));
        });
    }

    /** The sum over the block, in every thread: butterfly within warps, then each thread adds the warps' sums. */
    private F32 blockSum(KernelBuilder k, U32 tid, F32 partial) {
        for (int mask = 16; mask >= 1; mask /= 2) {
            k.set(partial, k.add(partial, k.shuffleXor(partial, mask)));
        }
        U32 warpSums = k.sharedArray("warpSums", block / 32 * 4);
        k.ifThen(k.eq(k.and(tid, 31), 0), () -> k.store(k.element(warpSums, k.shr(tid, 5), 4), partial));
        k.barrier();
        F32 total = k.loadF32(Address.shared(warpSums));
        for (int warp = 1; warp < block / 32; warp++) {
            total = k.add(total, k.loadF32(Address.shared(warpSums).plus(warp * 4L)));
        }
        return total;
    }
}
