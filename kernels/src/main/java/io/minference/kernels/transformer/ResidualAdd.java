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
 * The residual connection on the f32 stream: {@code x[i] += delta[i]} for i &lt; n, the delta f32 or bf16 (widened
 * exactly), one f32 add each, so the result equals the CPU twin {@link io.minference.kernels.cpu.ResidualAdd}'s bit
 * for bit. Where an RMSNorm follows, {@link RmsNormToBf16#afterResidualAdd} does both in one pass.
 * <p>Parameters: {@code x} (f32 [n]), {@code delta} (f32 or bf16 [n]), {@code chunks} (u32, n / 8; n a multiple of
 * 8). Launch: block {@value #BLOCK}, any grid ({@link #shape}), no dynamic shared memory; pointers 16-byte aligned.
 * A grid-stride loop over 8-element chunks (two 16-byte loads and stores of x).
 *
 * @param delta the delta's type, F32 or BF16
 */
public record ResidualAdd(ResidualDelta delta) implements KernelDefinition {
    public static final int BLOCK = 256;
    private static final String NAME = "residual add";

    public ResidualAdd {
        if (delta == ResidualDelta.NONE) throw new IllegalArgumentException(NAME + " needs an F32 or BF16 delta");
    }

    @Override
    public String entryName() {
        return "residual_add_f32_" + delta.suffix();
    }

    /** One thread per chunk of 8 elements. */
    public LaunchShape shape(long elements) {
        return LaunchShape.covering(Math.max(1, elements / 8), BLOCK);
    }

    /** Adds the first {@code rows * width} elements of {@code deltaTensor} to those of {@code x}. */
    public void launch(CudaStream stream, DeviceTensor x, DeviceTensor deltaTensor, int rows, int width) {
        long n = (long) rows * width;
        check(Buffer.of("x", x), Buffer.of("delta", deltaTensor), n);
        stream.context().kernel(emit(stream.context().device().ptxTarget()), shape(n))
                .launch(stream, x, deltaTensor, (int) (n / 8));
    }

    void check(Buffer x, Buffer deltaBuffer, long n) {
        LaunchChecks.multipleOf(NAME, "rows * width", n, 8);
        if (n / 8 > 0xFFFF_FFFFL) throw new IllegalArgumentException(NAME + ": " + n + " elements are too many");
        LaunchChecks.holds(NAME, x, DType.F32, n);
        LaunchChecks.holds(NAME, deltaBuffer, delta.dtype(), n);
    }

    @Override
    public void define(KernelBuilder k) {
        U64 x = k.pointerParam("x");
        U64 d = k.pointerParam("delta");
        U32 chunks = k.u32Param("chunks");
        k.maxThreadsPerBlock(BLOCK);
        k.describe("x += delta (" + delta.suffix() + "), grid-stride over 8-element chunks");
        U32 stride = k.mul(k.gridDim(), k.blockDim()).named("stride");
        U32 i = k.var("i", k.mad(k.blockIdx(), k.blockDim(), k.threadIdx()));
        k.whileLoop(() -> k.lt(i, chunks), () -> {
            Address at = k.element(x, i, 32);
            F32[] v = PtxOps.loadF32x8(k, at);
            F32[] dv = delta == ResidualDelta.F32
                    ? PtxOps.loadF32x8(k, k.element(d, i, 32))
                    : PtxOps.unpackBf16(k, k.loadB32x4(k.element(d, i, 16)));
            F32[] sum = new F32[8];
            for (int j = 0; j < 8; j++) sum[j] = k.add(v[j], dv[j]);
            PtxOps.storeF32x8(k, at, sum);
            k.set(i, k.add(i, stride));
        });
    }
}
