package io.minference.kernels.samples;

import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * The sum of each 32 consecutive f32 values, by butterfly shuffles ({@code shfl.sync.bfly}) inside a warp:
 * {@code out[w] = x[32w] + ... + x[32w + 31]}, values past {@code n} counting as zero.
 * <p>Parameters: {@code x, out} (u64 pointers to f32), {@code n} (u32). Launch: block {@value #BLOCK} threads, grid
 * {@code ceil(n / BLOCK)}, no dynamic shared memory; {@code out} holds {@code ceil(n / 32)} floats.
 */
public record WarpReduceSum() implements KernelDefinition {
    public static final int BLOCK = 256;

    @Override
    public String entryName() {
        return "warp_reduce_sum_f32";
    }

    @Override
    public void define(KernelBuilder k) {
        U64 x = k.pointerParam("x");
        U64 out = k.pointerParam("out");
        U32 n = k.u32Param("n");
        U32 i = k.mad(k.blockIdx(), k.blockDim(), k.threadIdx()).named("i");
        F32 sum = k.var("sum", k.f32(0));
        k.ifThen(k.lt(i, n), () -> k.set(sum, k.loadF32(k.element(x, i, 4))));
        k.comment("every lane takes part in the shuffles, in range or not");
        for (int mask = 16; mask >= 1; mask /= 2) {
            k.set(sum, k.add(sum, k.shuffleXor(sum, mask)));
        }
        k.comment("lane 0 of each warp that has data writes its sum; warps wholly past n have no output slot");
        k.ifThen(k.and(k.eq(k.and(i, 31), 0), k.lt(i, n)), () -> k.store(k.element(out, k.shr(i, 5), 4), sum));
    }
}
