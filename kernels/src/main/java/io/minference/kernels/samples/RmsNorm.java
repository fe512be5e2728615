package io.minference.kernels.samples;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * RMSNorm of each row: {@code y[r][j] = x[r][j] * w[j] / sqrt(mean_j(x[r][j]^2) + eps)}, f32 in and out.
 * <p>Parameters: {@code x, w, y} (u64 pointers to f32; x and y are [rows][cols] row-major), {@code cols} (u32),
 * {@code eps} (f32). Launch: one block of {@code block} threads per row (grid = rows), no dynamic shared memory.
 *
 * @param block threads per block, a multiple of 32 up to 1024
 */
public record RmsNorm(int block) implements KernelDefinition {
    public RmsNorm {
        if (block < 32 || block > 1024 || block % 32 != 0) {
            throw new IllegalArgumentException("block must be a multiple of 32 in 32..1024, got " + block);
        }
    }

    @Override
    public String entryName() {
        return "rms_norm_f32_" + block;
    }

    @Override
    public void define(KernelBuilder k) {
        U64 x = k.pointerParam("x");
        U64 w = k.pointerParam("w");
        U64 y = k.pointerParam("y");
        U32 cols = k.u32Param("cols");
        F32 eps = k.f32Param("eps");
        k.maxThreadsPerBlock(block);
        U32 tid = k.threadIdx();
        U32 rowStart = k.mul(k.blockIdx(), cols).named("rowStart");
        U64 xRow = k.pointer(x, rowStart, 4).named("xRow");
        U64 yRow = k.pointer(y, rowStart, 4).named("yRow");

        F32 sumSq = k.var("sumSq", k.f32(0));
        k.loop(tid, cols, k.u32(block), j -> {
            F32 v = k.loadF32(k.element(xRow, j, 4));
            k.set(sumSq, k.mad(v, v, sumSq));
        });
        for (int mask = 16; mask >= 1; mask /= 2) {
            k.set(sumSq, k.add(sumSq, k.shuffleXor(sumSq, mask)));
        }
        U32 warpSums = k.sharedArray("warpSums", block / 32 * 4);
        k.ifThen(k.eq(k.and(tid, 31), 0), () -> k.store(k.element(warpSums, k.shr(tid, 5), 4), sumSq));
        k.barrier();
        F32 total = k.loadF32(Address.shared(warpSums));
        for (int warp = 1; warp < block / 32; warp++) {
            total = k.add(total, k.loadF32(Address.shared(warpSums).plus(warp * 4L)));
        }
        F32 scale = k.rsqrt(k.add(k.div(total, k.toF32(cols)), eps)).named("scale");

        k.loop(tid, cols, k.u32(block), j -> k.store(k.element(yRow, j, 4),
                k.mul(k.mul(k.loadF32(k.element(xRow, j, 4)), scale), k.loadF32(k.element(w, j, 4)))));
    }
}
