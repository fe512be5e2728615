package io.minference.runtime.cuda;

import io.minference.ptx.KernelParam;
import io.minference.ptx.KernelSource;
import io.minference.ptx.PtxTarget;

import java.util.List;

/** Hand-written PTX kernels for the runtime's tests (each checked with ptxas -arch=sm_90). */
public final class TestKernels {
    private TestKernels() {
    }

    private static final String HEADER = """
            .version 8.0
            .target sm_80
            .address_size 64
            """;

    /** c[i] = a[i] + alpha * b[i] (one fused multiply-add) for i < n. */
    public static final KernelSource AXPY = new KernelSource("axpy",
            List.of(new KernelParam("a", "u64"), new KernelParam("b", "u64"), new KernelParam("c", "u64"),
                    new KernelParam("alpha", "f32"), new KernelParam("n", "u32")),
            HEADER + """
            .visible .entry axpy(
                .param .u64 a,
                .param .u64 b,
                .param .u64 c,
                .param .f32 alpha,
                .param .u32 n
            )
            {
                .reg .pred %p<2>;
                .reg .b32 %r<6>;
                .reg .f32 %f<5>;
                .reg .b64 %rd<8>;

                ld.param.u64 %rd1, [a];
                ld.param.u64 %rd2, [b];
                ld.param.u64 %rd3, [c];
                ld.param.f32 %f1, [alpha];
                ld.param.u32 %r1, [n];
                mov.u32 %r2, %ctaid.x;
                mov.u32 %r3, %ntid.x;
                mov.u32 %r4, %tid.x;
                mad.lo.s32 %r5, %r2, %r3, %r4;
                setp.ge.u32 %p1, %r5, %r1;
                @%p1 bra DONE;
                mul.wide.u32 %rd4, %r5, 4;
                cvta.to.global.u64 %rd1, %rd1;
                cvta.to.global.u64 %rd2, %rd2;
                cvta.to.global.u64 %rd3, %rd3;
                add.s64 %rd5, %rd1, %rd4;
                add.s64 %rd6, %rd2, %rd4;
                add.s64 %rd7, %rd3, %rd4;
                ld.global.f32 %f2, [%rd5];
                ld.global.f32 %f3, [%rd6];
                fma.rn.f32 %f4, %f1, %f3, %f2;
                st.global.f32 [%rd7], %f4;
            DONE:
                ret;
            }
            """, PtxTarget.SM_80, 0);

    /**
     * With {@code sharedBytes} of dynamic shared memory: thread t stores 3t+1 at byte tailOffset + 4t, then writes
     * its neighbour's value, 3((t+1) mod blockDim)+1, to out[t].
     */
    public static KernelSource sharedTail(int sharedBytes) {
        return new KernelSource("shared_tail",
                List.of(new KernelParam("out", "u64"), new KernelParam("tailOffset", "u32")),
                HEADER + """
                .extern .shared .align 16 .b8 dynamic_smem[];

                .visible .entry shared_tail(
                    .param .u64 out,
                    .param .u32 tailOffset
                )
                {
                    .reg .b32 %r<12>;
                    .reg .b64 %rd<4>;

                    ld.param.u64 %rd1, [out];
                    ld.param.u32 %r1, [tailOffset];
                    mov.u32 %r2, %tid.x;
                    mov.u32 %r3, %ntid.x;
                    mov.u32 %r4, dynamic_smem;
                    add.u32 %r4, %r4, %r1;
                    shl.b32 %r5, %r2, 2;
                    add.u32 %r6, %r4, %r5;
                    mad.lo.u32 %r7, %r2, 3, 1;
                    st.shared.u32 [%r6], %r7;
                    bar.sync 0;
                    add.u32 %r8, %r2, 1;
                    rem.u32 %r8, %r8, %r3;
                    shl.b32 %r9, %r8, 2;
                    add.u32 %r10, %r4, %r9;
                    ld.shared.u32 %r11, [%r10];
                    cvta.to.global.u64 %rd1, %rd1;
                    mul.wide.u32 %rd2, %r2, 4;
                    add.s64 %rd3, %rd1, %rd2;
                    st.global.u32 [%rd3], %r11;
                    ret;
                }
                """, PtxTarget.SM_80, sharedBytes);
    }

    /** A kernel that does nothing: for launch overhead and graph capture. */
    public static final KernelSource EMPTY = new KernelSource("empty_kernel", List.of(), HEADER + """
            .visible .entry empty_kernel()
            {
                ret;
            }
            """, PtxTarget.SM_80, 0);

    /** PTX that does not assemble: it reads a register that was never declared. */
    public static final KernelSource BROKEN = new KernelSource("broken", List.of(new KernelParam("out", "u64")),
            HEADER + """
            .visible .entry broken(.param .u64 out)
            {
                .reg .b32 %r<2>;
                mov.u32 %r1, %no_such_register;
                ret;
            }
            """, PtxTarget.SM_80, 0);
}
