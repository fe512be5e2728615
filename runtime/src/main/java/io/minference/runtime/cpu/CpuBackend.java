package io.minference.runtime.cpu;

import io.minference.runtime.Backend;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.x86.AmxSupport;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.function.IntConsumer;

/**
 * Runs on the host's cores through worker threads of its own (so that other work on the common pool neither slows
 * nor is slowed by inference), as many as the available processors unless told otherwise, the calling thread
 * counting as one.
 */
public final class CpuBackend implements Backend {
    private final int threads;
    private final boolean amx;
    private final ParallelLoop loop;

    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /**
     * The reference the GPU and the 8-bit KV caches are checked against: every thread, every product the Vector
     * API's in floats (no AMX int8 kernels). With the AMX kernels each product's input is quantized to int8, and on
     * the shipped Q8_0 model that rounding alone moves the logits by about 0.02 relative (decode after 8K-16K tokens,
     * and the GPU's prefill logits on short prompts), the size of the bounds those checks hold.
     */
    public static CpuBackend reference() {
        return new CpuBackend(Runtime.getRuntime().availableProcessors(), false);
    }

    /** A backend that runs the products it can on the AMX tiles wherever {@link AmxSupport#available()}. */
    public CpuBackend(int threads) {
        this(threads, true);
    }

    /**
     * @param amx whether products may run in int8 on the AMX tiles where they can (Q8_0; for prefill also Q4_0,
     *            Q5_0 and the K-quants); without, every product is the Vector API's, whose prefill products equal the
     *            F32 product of the decoded weights exactly
     * @throws IllegalArgumentException for fewer than one thread, or a wrong {@code -Dminference.cpu.amx}
     */
    public CpuBackend(int threads, boolean amx) {
        if (threads < 1) throw new IllegalArgumentException("a CPU backend needs at least one thread, got " + threads);
        this.threads = threads;
        this.amx = amx && AmxSupport.available();
        this.loop = new ParallelLoop(threads - 1);
    }

    @Override
    public String name() {
        return "cpu";
    }

    public int threads() {
        return threads;
    }

    /** Whether products run in int8 on the AMX tiles where they can. */
    public boolean usesAmx() {
        return amx;
    }

    /** The backend in words: its threads, and whether products run on the AMX tiles (and why not). */
    public String describe() {
        String kernels = amx ? "AMX int8 kernels" : "no AMX kernels: "
                + Objects.requireNonNullElse(AmxSupport.unavailableBecause(), "turned off for this backend");
        return name() + " (" + threads + " threads, " + kernels + ")";
    }

    /**
     * Calls {@code body} for every index in [0, count), spread over the worker threads and the calling thread (which
     * works rather than waits); indices are handed out one at a time, so uneven items balance. Returns when all are
     * done and rethrows the first failure. A call from inside a body, or from a second thread while a loop runs,
     * runs on its calling thread alone rather than waiting on the workers ({@link ParallelLoop} says why the
     * workers spin between calls). After {@link #close} a loop of more than one index is refused with a
     * {@code RejectedExecutionException}, as from an executor that was shut down.
     */
    public void parallelFor(int count, IntConsumer body) {
        if (count <= 0) return;
        if (count == 1 || threads == 1 || !loop.run(count, body)) {
            for (int i = 0; i < count; i++) body.accept(i);
        }
    }

    /**
     * The matrix product of a block of token rows with a weight matrix stored row-major as [out, in]:
     * {@code out[t, n] = Σ_k x[t, k] · w[n, k]} for {@code t < rows}. {@code x} is F32 [≥rows, K] (or [K] when
     * rows is 1), {@code out} F32 [≥rows, N] (or [N]); {@code w} is [N, K] in F32 or in any type that
     * {@link #computesOn} accepts, read in place (a memory-mapped model file's quantized blocks, say).
     */
    public void matmul(Tensor x, Tensor w, Tensor out, int rows) {
        requireF32(x, "x");
        if (!computesOn(w.dtype())) {
            throw new IllegalArgumentException("matmul cannot read weights of type " + w.dtype() + ": " + w);
        }
        requireF32(out, "out");
        if (w.rank() != 2) throw new IllegalArgumentException("weights must be [N, K], got " + w);
        long n = w.dim(0);
        long k = w.dim(1);
        checkRows(x, "x", rows, k);
        checkRows(out, "out", rows, n);
        if (n > Integer.MAX_VALUE || k > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("weights " + w + " exceed 2^31 rows or columns");
        }
        if (w.dtype() == DType.F32) {
            CpuMatmul.multiply(this, x.data(), k, w.data(), k, out.data(), n, rows, (int) n, (int) k);
        } else {
            CpuMatmul.multiplyBlocks(this, x.data(), k, w.dtype(), w.data(), w.dtype().byteSize(k), out.data(), n,
                    rows, (int) n, (int) k);
        }
    }

    /** Whether {@link #matmul(Tensor, Tensor, Tensor, int)} reads weights of {@code type}. */
    public static boolean computesOn(DType type) {
        return switch (type) {
            case F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K -> true;
            case I32, I8, U8 -> false;
        };
    }

    /**
     * The same product over raw F32 memory whose rows lie {@code xStride}, {@code wStride} and {@code outStride}
     * floats apart: {@code out[t·outStride + j] = Σ_i x[t·xStride + i] · w[j·wStride + i]} for t &lt; rows,
     * j &lt; n, i &lt; k. Lets a caller multiply column slices (one attention head of a wider row, say) in place.
     */
    public void matmul(MemorySegment x, long xStride, MemorySegment w, long wStride, MemorySegment out,
                       long outStride, int rows, int n, int k) {
        if (rows < 1 || n < 1 || k < 1) {
            throw new IllegalArgumentException("matmul needs positive sizes, got rows " + rows + ", n " + n + ", k " + k);
        }
        requireSpan(x, "x", rows, xStride, k);
        requireSpan(w, "w", n, wStride, k);
        requireSpan(out, "out", rows, outStride, n);
        CpuMatmul.multiply(this, x, xStride, w, wStride, out, outStride, rows, n, k);
    }

    private static void requireSpan(MemorySegment m, String what, long rows, long stride, long width) {
        if (stride < width) {
            throw new IllegalArgumentException("matmul: " + what + " rows of " + width + " floats cannot lie "
                    + stride + " apart");
        }
        long bytes = 4 * ((rows - 1) * stride + width);
        if (m.byteSize() < bytes) {
            throw new IllegalArgumentException("matmul: " + what + " needs " + bytes + " bytes for " + rows
                    + " rows of " + width + " floats " + stride + " apart, its memory holds " + m.byteSize());
        }
    }

    private static void requireF32(Tensor t, String what) {
        if (t.dtype() != DType.F32) throw new IllegalArgumentException("matmul needs F32 tensors; " + what + " is " + t);
    }

    private static void checkRows(Tensor t, String what, int rows, long width) {
        if (rows < 1) throw new IllegalArgumentException("matmul needs at least one row, got " + rows);
        boolean ok = switch (t.rank()) {
            case 1 -> rows == 1 && t.dim(0) == width;
            case 2 -> t.dim(0) >= rows && t.dim(1) == width;
            default -> false;
        };
        if (!ok) {
            throw new IllegalArgumentException("matmul of " + rows + " rows needs " + what + " of shape [>=" + rows
                    + ", " + width + "], got " + t);
        }
    }

    @Override
    public void close() {
        loop.close();
    }
}
