package io.minference.kernels.samples;

import io.minference.ptx.dsl.B32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * A grid-stride copy of 16-byte chunks ({@code ld/st.global.v4.b32}), {@code unroll} chunks in flight per thread:
 * all loads of a step are issued before its stores. Result: {@code dst == src} for {@code chunks * 16} bytes.
 * <p>Parameters: {@code src, dst} (u64 pointers, 16-byte aligned), {@code chunks} (u32, number of 16-byte chunks).
 * Launch: block {@value #BLOCK} threads, any grid (for bandwidth: 4 to 8 blocks per SM), no dynamic shared memory.
 *
 * @param unroll chunks each thread moves per step
 */
public record CopyBandwidth(int unroll) implements KernelDefinition {
    public static final int BLOCK = 256;

    public CopyBandwidth {
        if (unroll < 1 || unroll > 16) {
            throw new IllegalArgumentException("unroll must be 1..16, got " + unroll);
        }
    }

    @Override
    public String entryName() {
        return "copy_bandwidth_16b_x" + unroll;
    }

    @Override
    public void define(KernelBuilder k) {
        U64 src = k.pointerParam("src");
        U64 dst = k.pointerParam("dst");
        U32 chunks = k.u32Param("chunks");
        k.maxThreadsPerBlock(BLOCK);
        U32 stride = k.mul(k.gridDim(), k.blockDim()).named("stride");
        U32 i = k.var("i", k.mad(k.blockIdx(), k.blockDim(), k.threadIdx()));
        U32 span = k.mul(stride, unroll - 1).named("span");
        k.comment("main loop: " + unroll + " chunks per thread and step, loads first");
        k.whileLoop(() -> k.lt(k.add(i, span), chunks), () -> {
            B32[][] data = new B32[unroll][];
            U32[] at = new U32[unroll];
            for (int u = 0; u < unroll; u++) {
                at[u] = u == 0 ? i : k.add(at[u - 1], stride);
                data[u] = k.loadB32x4(k.element(src, at[u], 16));
            }
            for (int u = 0; u < unroll; u++) {
                k.storeVector(k.element(dst, at[u], 16), data[u]);
            }
            k.set(i, k.add(at[unroll - 1], stride));
        });
        k.comment("tail: fewer than " + unroll + " chunks left for this thread");
        k.whileLoop(() -> k.lt(i, chunks), () -> {
            k.storeVector(k.element(dst, i, 16), k.loadB32x4(k.element(src, i, 16)));
            k.set(i, k.add(i, stride));
        });
    }
}
