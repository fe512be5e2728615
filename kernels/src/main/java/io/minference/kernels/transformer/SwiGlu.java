package io.minference.kernels.transformer;

import io.minference.kernels.transformer.LaunchChecks.Buffer;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DevicePointer;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.LaunchShape;

/**
 * The SwiGLU gate on bf16 GEMM outputs: {@code out[r][j] = bf16(silu(gate[r][j]) * up[r][j])}, silu(g) =
 * g / (1 + e^-g) in f32 ({@code ex2.approx}, a correctly rounded division). Gate and up are read through a row
 * stride, so one kernel serves both layouts: the fused gate+up GEMM output [T][2 hidden] (gate in the first half of
 * each row, up in the second: {@link #launchFused}) and two separate [T][hidden] outputs ({@link #launch}). The CPU
 * twin is {@link io.minference.kernels.cpu.SwiGlu} over the widened inputs.
 * <p>Parameters: {@code gate}, {@code up} (bf16, row r at {@code r * inStride}), {@code out} (bf16 [rows][hidden]),
 * {@code hidden} (u32, a multiple of 8), {@code inStride} (u32, elements, a multiple of 8). Launch: grid
 * {@code rows}, block {@value #BLOCK}, no dynamic shared memory; pointers 16-byte aligned.
 */
public record SwiGlu() implements KernelDefinition {
    public static final int BLOCK = 256;
    private static final String NAME = "SwiGLU";

    @Override
    public String entryName() {
        return "swiglu_bf16";
    }

    public LaunchShape shape(int rows) {
        return LaunchShape.of(rows, BLOCK);
    }

    /** Gate and up as two tensors of [rows][hidden] (at least). */
    public void launch(CudaStream stream, DeviceTensor gate, DeviceTensor up, DeviceTensor out, int rows, int hidden) {
        LaunchChecks.positive(NAME, "rows", rows);
        LaunchChecks.multipleOf(NAME, "hidden", hidden, 8);
        long n = (long) rows * hidden;
        LaunchChecks.holds(NAME, Buffer.of("gate", gate), DType.BF16, n);
        LaunchChecks.holds(NAME, Buffer.of("up", up), DType.BF16, n);
        LaunchChecks.holds(NAME, Buffer.of("out", out), DType.BF16, n);
        queue(stream, gate, up, out, rows, hidden, hidden);
    }

    /** The fused GEMM output [rows][2 hidden]: gate in columns [0, hidden), up in [hidden, 2 hidden). */
    public void launchFused(CudaStream stream, DeviceTensor gateUp, DeviceTensor out, int rows, int hidden) {
        LaunchChecks.positive(NAME, "rows", rows);
        LaunchChecks.multipleOf(NAME, "hidden", hidden, 8);
        LaunchChecks.holds(NAME, Buffer.of("gateUp", gateUp), DType.BF16, 2L * rows * hidden);
        LaunchChecks.holds(NAME, Buffer.of("out", out), DType.BF16, (long) rows * hidden);
        DevicePointer up = () -> gateUp.address() + 2L * hidden;
        queue(stream, gateUp, up, out, rows, hidden, 2 * hidden);
    }

    private void queue(CudaStream stream, DevicePointer gate, DevicePointer up, DevicePointer out, int rows,
                       int hidden, int inStride) {
        stream.context().kernel(emit(stream.context().device().ptxTarget()), shape(rows))
                .launch(stream, gate, up, out, hidden, inStride);
    }

    @Override
    public void define(KernelBuilder k) {
        U64 gate = k.pointerParam("gate");
        U64 up = k.pointerParam("up");
        U64 out = k.pointerParam("out");
        U32 hidden = k.u32Param("hidden");
        U32 inStride = k.u32Param("inStride");
        k.maxThreadsPerBlock(BLOCK);
        k.describe("out = bf16(silu(gate) * up), one block per row");
        U32 tid = k.threadIdx();
        U32 row = k.blockIdx();
        U64 inOffset = k.mul(k.mulWide(row, inStride), 2).named("inOffset");
        U64 gateRow = k.add(gate, inOffset).named("gateRow");
        U64 upRow = k.add(up, inOffset).named("upRow");
        U64 outRow = k.add(out, k.mul(k.mulWide(row, hidden), 2)).named("outRow");
        k.loop(tid, k.shr(hidden, 3), BLOCK, c -> {
            F32[] g = PtxOps.unpackBf16(k, k.loadB32x4(k.element(gateRow, c, 16)));
            F32[] u = PtxOps.unpackBf16(k, k.loadB32x4(k.element(upRow, c, 16)));
            F32[] y = new F32[8];
            for (int i = 0; i < 8; i++) {
                F32 silu = k.div(g[i], k.add(k.exp(k.neg(g[i])), 1f));
                y[i] = k.mul(silu, u[i]);
            }
            k.storeVector(k.element(outRow, c, 16), PtxOps.packBf16(k, y));
        });
    }
}
