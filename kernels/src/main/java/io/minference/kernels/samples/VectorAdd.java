package io.minference.kernels.samples;

import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * {@code c[i] = a[i] + b[i]} for f32 vectors of any length.
 * <p>Parameters: {@code a, b, c} (u64 device pointers to f32), {@code n} (u32 element count).
 * Launch: block {@value #BLOCK} threads, grid {@code ceil(n / BLOCK)}, no dynamic shared memory. Threads past
 * {@code n} do nothing.
 */
public record VectorAdd() implements KernelDefinition {
    public static final int BLOCK = 256;

    @Override
    public String entryName() {
        return "vector_add_f32";
    }

    @Override
    public void define(KernelBuilder k) {
        U64 a = k.pointerParam("a");
        U64 b = k.pointerParam("b");
        U64 c = k.pointerParam("c");
        U32 n = k.u32Param("n");
        U32 i = k.mad(k.blockIdx(), k.blockDim(), k.threadIdx()).named("i");
        k.ifThen(k.lt(i, n), () ->
                k.store(k.element(c, i, 4), k.add(k.loadF32(k.element(a, i, 4)), k.loadF32(k.element(b, i, 4)))));
    }
}
