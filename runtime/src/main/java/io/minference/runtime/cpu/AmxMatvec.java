package io.minference.runtime.cpu;

import static io.minference.runtime.cpu.x86.X86Assembler.R10;
import static io.minference.runtime.cpu.x86.X86Assembler.R8;
import static io.minference.runtime.cpu.x86.X86Assembler.R9;
import static io.minference.runtime.cpu.x86.X86Assembler.RAX;
import static io.minference.runtime.cpu.x86.X86Assembler.RCX;
import static io.minference.runtime.cpu.x86.X86Assembler.RDI;
import static io.minference.runtime.cpu.x86.X86Assembler.RDX;
import static io.minference.runtime.cpu.x86.X86Assembler.RSP;

import io.minference.runtime.DType;
import io.minference.runtime.cpu.x86.NativeCode;
import io.minference.runtime.cpu.x86.X86Assembler;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Collections;

/**
 * The decode product on Q8_0 weights with the AMX tiles: x is quantized once per product to blocks of 32 int8 under
 * an F32 scale (the format of {@link IntegerMatvec#quantize}), and each group of 16 weight rows takes, block by
 * block, one {@code tdpbssd} of the 16 rows' quants (a 16 × 32-byte tile read where the rows lie in the file) with
 * x's block (an 8 × 4-byte tile, one column): 16 exact sums, stored as one vector and scaled into the rows' float
 * accumulators by x's block scale and the rows' F16 block scales, gathered from the blocks and widened in the kernel.
 *
 * <p>Why: decode reads every weight once, so it is bound by memory; the Vector API's float products spend several
 * instructions per 16 weights (widen bytes to ints, to floats, multiply-add), which on two cores keeps them below
 * the memory's rate (BENCHMARKS.md, "Peer benchmark"). A tile product takes 512 weights an instruction; only a
 * sixteenth of its columns is used, and it is still far from the bound.
 *
 * <p>The kernel's launch contract ({@code rows(w, rowBytes, quants, scales, out, workspace, runs, singles)}):
 * <ul>
 *   <li>{@code w}: the quants of block 0 of the group's first row (its Q8_0 block's byte 2); row r's block b at
 *       {@code w + r·rowBytes + 34·b}, its F16 scale two bytes before;</li>
 *   <li>{@code quants}: x's int8 quants, block b at {@code quants + 32·b}; {@code scales}: x's F32 block scales;</li>
 *   <li>{@code out}: the 16 rows' results, written;</li>
 *   <li>{@code workspace}, 64-byte aligned: four 64-byte buffers for the blocks' sums at 0, the rows' offsets
 *       {@code r·rowBytes} as 16 ints at 256, the tile configuration at 320;</li>
 *   <li>the blocks: {@code runs} of four (four sums tiles in flight), then {@code singles}. The tiles are released
 *       on return.</li>
 * </ul>
 *
 * <p>Exactness: as {@link IntegerMatvec}'s, whose per-row bound {@code AmxMatvecTest} checks.
 */
final class AmxMatvec {
    static final int ROWS = 16, BLOCK = 32;
    private static final int Q8_0_BYTES = AmxTiles.Q8_0_BYTES;
    private static final int UNROLL = 4;
    private static final int SUMS = 0, OFFSETS = 64 * UNROLL, CONFIG = OFFSETS + 64, WORKSPACE_BYTES = CONFIG + 64;
    /** The kernel, generated when first called: only by a backend that {@link CpuBackend#usesAmx() uses AMX}. */
    private static final class Kernel {
        static final MethodHandle HANDLE = NativeCode.load(rowsKernel(),
                FunctionDescriptor.ofVoid(Collections.nCopies(8, ValueLayout.JAVA_LONG).toArray(ValueLayout[]::new)),
                true);
    }

    private static final ThreadLocal<MemorySegment> WORKSPACE = new ThreadLocal<>();

    private AmxMatvec() {
    }

    /** Whether {@link #rows} computes this product here: the kernel reads the weights at their address. */
    static boolean handles(CpuBackend backend, DType type, MemorySegment w, int n, int k) {
        return backend.usesAmx() && type == DType.Q8_0 && w.isNative() && n % ROWS == 0 && k % BLOCK == 0;
    }

    /** out[r] = w[r, ·] · x for rows [n0, n1) (multiples of 16), rows {@code rowBytes} apart, x quantized in q. */
    static void rows(MemorySegment q, MemorySegment w, long rowBytes, MemorySegment out, int n0, int n1, int k) {
        int blocks = k / BLOCK;
        MemorySegment workspace = workspace();
        for (int r = 0; r < ROWS; r++) workspace.set(ValueLayout.JAVA_INT, OFFSETS + 4L * r, (int) (r * rowBytes));
        for (int row = n0; row < n1; row += ROWS) {
            try {
                Kernel.HANDLE.invokeExact(w.address() + row * rowBytes + 2, rowBytes, q.address(), q.address() + k,
                        out.address() + 4L * row, workspace.address(), (long) (blocks / UNROLL),
                        (long) (blocks % UNROLL));
            } catch (Throwable t) {
                throw new IllegalStateException("the AMX decode kernel failed", t);
            }
        }
    }

    /** tmm0, tmm1 the rows (16 × 32 bytes); tmm2, tmm3 x's block (8 × 4); tmm4–tmm7 the sums (16 × 4). */
    private static MemorySegment workspace() {
        int[] rows = {ROWS, BLOCK}, x = {BLOCK / 4, 4}, sums = {ROWS, 4};
        return AmxTiles.workspace(WORKSPACE, WORKSPACE_BYTES, CONFIG,
                new int[][] {rows, rows, x, x, sums, sums, sums, sums});
    }

    /** The kernel's code: see the class comment for its arguments. */
    static byte[] rowsKernel() {
        X86Assembler a = new X86Assembler();
        // rdi w, rsi rowBytes, rdx quants, rcx scales, r8 out, r9 workspace, [rsp + 8] runs, [rsp + 16] singles;
        // r10 the 4-byte stride of x's and the sums' one-column tiles, zmm0 the accumulators, zmm21 row offsets
        final int accumulators = 0, offsets = 21;
        a.loadTileConfig(R9, CONFIG);
        a.movImmediate(R10, 4);
        a.xor(accumulators, accumulators, accumulators);
        a.vectorLoad(offsets, R9, OFFSETS);
        for (int[] loop : new int[][] {{8, UNROLL}, {16, 1}}) {
            a.load64(RAX, RSP, loop[0]);
            a.testZero(RAX);
            int skip = a.jumpIfZeroForward();
            int top = a.position();
            blocks(a, loop[1], accumulators, offsets);
            a.decrement(RAX);
            a.jumpIfNotZero(top);
            a.land(skip);
        }
        a.vectorStore(R8, 0, accumulators);
        a.tileRelease();
        a.vzeroupper();
        a.ret();
        return a.toBytes();
    }

    /**
     * {@code count} blocks: each block's tile product into a sums tile of its own, stored as one vector; then each
     * block's scales (the rows' F16 scales gathered and widened, times x's) applied to its sums into the
     * accumulators; then the pointers past them.
     */
    private static void blocks(X86Assembler a, int count, int accumulators, int offsets) {
        AmxTiles.blockProducts(a, count, BLOCK, R9, SUMS, 64);
        for (int u = 0; u < count; u++) {
            int gathered = 17 + u % 2, halves = 19 + u % 2, scales = 22 + u % 2, sums = 24 + u % 2;
            a.maskAllOnes(1);
            a.gatherInts(gathered, 1, RDI, offsets, Q8_0_BYTES * u - 2);
            a.truncateIntsToShorts(halves, gathered);
            a.convertHalvesToFloats(scales, halves);
            a.multiplyBroadcast(scales, scales, RCX, 4 * u);
            a.convertIntsToFloats(sums, R9, SUMS + 64 * u);
            a.fusedMultiplyAdd(accumulators, sums, scales);
        }
        a.addImmediate(RDI, Q8_0_BYTES * count);
        a.addImmediate(RDX, BLOCK * count);
        a.addImmediate(RCX, 4 * count);
    }
}
