package io.minference.runtime.cuda;

import io.minference.runtime.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * bf16 matrix products with f32 accumulation through cuBLASLt, in this project's convention: row-major
 * {@code C[M,N] = A[M,K] x B[N,K]^T}, with A the activations, B the weights (one output feature a row) and C in bf16
 * or f32 (see {@link GemmLayout} for the column-major translation). Descriptors and the chosen algorithm are cached
 * per shape; the workspace is allocated once, so products can be captured into CUDA graphs.
 *
 * <p>{@link #multiplyAccumulate} adds the product into an f32 C instead ({@code C += A x B^T}, cuBLASLt's beta = 1):
 * the epilogue computes {@code acc + C} in f32 and rounds once, the same single rounding as writing the product to
 * f32 and adding it in a separate kernel, without that kernel's extra pass over C.
 *
 * <p>The algorithm of a shape is cuBLASLt's heuristic's first choice, unless {@value #AUTOTUNE_PROPERTY} is
 * {@code true}: then the heuristic's first {@value #CANDIDATES} candidates are timed on the shape's first product with
 * at least {@value #AUTOTUNE_MIN_ROWS} rows (the prefill's chunks, not decode's few rows) that is not being captured
 * into a graph, and the fastest is kept. The heuristic ranks by a model of the GPU; a timing on the real operands can
 * disagree where the model is coarse (the prefill's GEMMs run at 624-688 TFLOP/s on an H200 against 780 for
 * 8192 x 8192 x 8192).
 */
public final class CublasLtGemm implements AutoCloseable {
    /** cuBLAS's recommended workspace for Hopper (and more than enough before it). */
    public static final long WORKSPACE_BYTES = 32L << 20;
    /**
     * The system property that has each shape's algorithm chosen by timing: {@code false} (the default) or
     * {@code true}.
     */
    public static final String AUTOTUNE_PROPERTY = "minference.gemm.autotune";
    /** The heuristic's candidates asked for, and timed when autotuning. */
    static final int CANDIDATES = 8;
    /** Rows from which a shape is autotuned: below them a timing would cost more than a better algorithm saves. */
    static final long AUTOTUNE_MIN_ROWS = 1024;
    /** Rounds over the candidates; a candidate's time is its best round's, so no candidate is timed only cold. */
    private static final int ROUNDS = 3;
    /** Products per candidate and round, timed together. */
    private static final int RUNS_PER_ROUND = 2;
    /** Untimed products before the first round, so that the clocks have risen before any candidate is timed. */
    private static final int WARM_UP_RUNS = 4;

    private final CudaContext context;
    private final CublasLt blas;
    private final MemorySegment handle;
    private final DeviceBuffer workspace;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment zero;
    private final MemorySegment one;
    private final Map<PlanKey, Plan> plans = new HashMap<>();
    private final boolean autotune;
    private boolean closed;

    private record PlanKey(long m, long n, long k, DType output) {
    }

    /** A shape's descriptors, the heuristic's candidates (best first by its model) and the one in use. */
    private static final class Plan {
        final MemorySegment desc, first, second, result;
        final List<MemorySegment> candidates;
        MemorySegment algo;
        boolean settled;

        Plan(MemorySegment desc, MemorySegment first, MemorySegment second, MemorySegment result,
             List<MemorySegment> candidates) {
            this.desc = desc;
            this.first = first;
            this.second = second;
            this.result = result;
            this.candidates = candidates;
            this.algo = candidates.getFirst();
        }
    }

    private CublasLtGemm(CudaContext context, CublasLt blas, boolean autotune) {
        this.context = context;
        this.blas = blas;
        this.autotune = autotune;
        context.makeCurrent();
        this.handle = blas.createHandle();
        this.workspace = context.allocate(WORKSPACE_BYTES);
        this.zero = arena.allocateFrom(JAVA_FLOAT, 0f);
        this.one = arena.allocateFrom(JAVA_FLOAT, 1f);
    }

    /**
     * Loads cuBLASLt (failing with {@link CudaUnavailableException} when absent) and creates a handle, autotuning as
     * {@value #AUTOTUNE_PROPERTY} says (a value other than {@code true} or {@code false} is an error naming it).
     */
    public static CublasLtGemm create(CudaContext context) {
        return create(context, autotuneConfigured(System.getProperty(AUTOTUNE_PROPERTY)));
    }

    /** As {@link #create(CudaContext)}, autotuning or not whatever the property says. */
    public static CublasLtGemm create(CudaContext context, boolean autotune) {
        return new CublasLtGemm(context, CublasLt.load(), autotune);
    }

    /** {@value #AUTOTUNE_PROPERTY}'s value read: unset is {@code false}. */
    static boolean autotuneConfigured(String value) {
        if (value == null) return false;
        return switch (value.strip()) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(AUTOTUNE_PROPERTY + " must be true or false, not '" + value
                    + "'");
        };
    }

    /** The index of the smallest time: the candidate kept (the first of equal ones, the heuristic's order). */
    static int fastest(double[] millis) {
        int best = 0;
        for (int i = 1; i < millis.length; i++) {
            if (millis[i] < millis[best]) best = i;
        }
        return best;
    }

    /** Queues {@code c = a x b^T} on {@code stream}: a [M,K] bf16, b [N,K] bf16, c [M,N] bf16 or f32. */
    public void multiply(DeviceTensor a, DeviceTensor b, DeviceTensor c, CudaStream stream) {
        enqueue(a, b, c, zero, stream);
    }

    /**
     * Queues {@code c += a x b^T} on {@code stream}: a [M,K] bf16, b [N,K] bf16, c [M,N] f32, updated in place (a
     * residual stream taking a layer's output without a separate add).
     */
    public void multiplyAccumulate(DeviceTensor a, DeviceTensor b, DeviceTensor c, CudaStream stream) {
        if (c.dtype() != DType.F32) {
            throw new IllegalArgumentException("GEMM accumulation needs an F32 matrix C, got " + c);
        }
        enqueue(a, b, c, one, stream);
    }

    private void enqueue(DeviceTensor a, DeviceTensor b, DeviceTensor c, MemorySegment beta, CudaStream stream) {
        if (closed) throw new IllegalStateException("cuBLASLt GEMM used after close");
        requireMatrix(a, "A", DType.BF16);
        requireMatrix(b, "B", DType.BF16);
        if (c.rank() != 2 || (c.dtype() != DType.BF16 && c.dtype() != DType.F32)) {
            throw new IllegalArgumentException("GEMM output C must be a BF16 or F32 matrix, got " + c);
        }
        long m = a.dim(0), k = a.dim(1), n = b.dim(0);
        if (b.dim(1) != k || c.dim(0) != m || c.dim(1) != n) {
            throw new IllegalArgumentException("GEMM C[M,N] = A[M,K] x B[N,K]^T needs matching shapes, got A " + a
                    + ", B " + b + ", C " + c);
        }
        context.makeCurrent();
        Plan plan = plan(m, n, k, c.dtype());
        if (autotune && !plan.settled && m >= AUTOTUNE_MIN_ROWS && !stream.isCapturing()) {
            settle(plan, a, b, c, beta, stream);
        }
        run(plan, plan.algo, a, b, MemorySegment.ofAddress(c.address()), beta, stream);
    }

    private void run(Plan plan, MemorySegment algo, DeviceTensor a, DeviceTensor b, MemorySegment out,
                     MemorySegment beta, CudaStream stream) {
        blas.matmul(handle, plan.desc, one, MemorySegment.ofAddress(b.address()), plan.first,
                MemorySegment.ofAddress(a.address()), plan.second, beta, out, plan.result, out, plan.result,
                algo, MemorySegment.ofAddress(workspace.address()), WORKSPACE_BYTES, stream.handle());
    }

    /**
     * Times each candidate on these operands and keeps the fastest. The products go to a zeroed scratch matrix of C's
     * size with the call's own beta (an accumulating product's epilogue reads C, which costs time), so that C is not
     * touched; the real product follows on the same stream. The candidates take turns over {@value #ROUNDS} rounds
     * after a warm-up, each keeping its best round: timed one after another from a cold start, the first ones ran
     * at lower clocks (on an H100 that picked, for the down projection, an algorithm 3 % slower in the model). Prints
     * the choice to stderr, beside the heuristic's first candidate's time.
     */
    private void settle(Plan plan, DeviceTensor a, DeviceTensor b, DeviceTensor c, MemorySegment beta,
                        CudaStream stream) {
        plan.settled = true;
        if (plan.candidates.size() < 2) return;
        double[] millis = new double[plan.candidates.size()];
        Arrays.fill(millis, Double.POSITIVE_INFINITY);
        try (DeviceBuffer scratch = context.allocate(c.byteSize());
             CudaEvent start = context.createEvent(); CudaEvent end = context.createEvent()) {
            scratch.fillBytes((byte) 0);
            MemorySegment out = MemorySegment.ofAddress(scratch.address());
            for (int w = 0; w < WARM_UP_RUNS; w++) run(plan, plan.candidates.getFirst(), a, b, out, beta, stream);
            for (int round = 0; round < ROUNDS; round++) {
                for (int i = 0; i < millis.length; i++) {
                    MemorySegment algo = plan.candidates.get(i);
                    start.record(stream);
                    for (int r = 0; r < RUNS_PER_ROUND; r++) run(plan, algo, a, b, out, beta, stream);
                    end.record(stream);
                    millis[i] = Math.min(millis[i], end.elapsedMillisSince(start) / RUNS_PER_ROUND);
                }
            }
        }
        int best = fastest(millis);
        plan.algo = plan.candidates.get(best);
        double flops = 2.0 * a.dim(0) * b.dim(0) * a.dim(1);
        System.err.printf("cuBLASLt autotune: bf16 %d x %d x %d -> %s%s, candidate %d of %d, %.3f ms (%.0f TFLOP/s);"
                        + " the heuristic's first %.3f ms%n", a.dim(0), b.dim(0), a.dim(1), c.dtype(),
                beta == one ? " (+= C)" : "", best + 1, millis.length, millis[best], flops / millis[best] / 1e9,
                millis[0]);
    }

    private static void requireMatrix(DeviceTensor t, String name, DType dtype) {
        if (t.rank() != 2 || t.dtype() != dtype) {
            throw new IllegalArgumentException("GEMM operand " + name + " must be a " + dtype + " matrix, got " + t);
        }
    }

    private synchronized Plan plan(long m, long n, long k, DType output) {
        return plans.computeIfAbsent(new PlanKey(m, n, k, output), key -> createPlan(m, n, k, output));
    }

    private Plan createPlan(long m, long n, long k, DType output) {
        GemmLayout layout = GemmLayout.rowMajorTimesTransposed(m, n, k);
        int outputType = output == DType.F32 ? CublasLt.CUDA_R_32F : CublasLt.CUDA_R_16BF;
        MemorySegment desc = null, first = null, second = null, result = null, preference = null;
        try (Arena scratch = Arena.ofConfined()) {
            desc = blas.createMatmulDesc(CublasLt.COMPUTE_32F, CublasLt.CUDA_R_32F);
            blas.setMatmulDescInt(desc, CublasLt.DESC_TRANSA, layout.transposeFirst() ? CublasLt.OP_T : CublasLt.OP_N);
            blas.setMatmulDescInt(desc, CublasLt.DESC_TRANSB, layout.transposeSecond() ? CublasLt.OP_T : CublasLt.OP_N);
            first = blas.createLayout(CublasLt.CUDA_R_16BF, layout.firstRows(), layout.firstCols(), layout.firstLd());
            second = blas.createLayout(CublasLt.CUDA_R_16BF, layout.secondRows(), layout.secondCols(),
                    layout.secondLd());
            result = blas.createLayout(outputType, layout.m(), layout.n(), layout.ldResult());
            preference = blas.createPreference();
            blas.setPreferenceLong(preference, CublasLt.PREF_MAX_WORKSPACE_BYTES, WORKSPACE_BYTES);
            int asked = autotune ? CANDIDATES : 1;
            MemorySegment results = scratch.allocate(CublasLt.HEURISTIC_RESULT_BYTES * asked, 8);
            int found = blas.algoGetHeuristic(handle, desc, first, second, result, result, preference, asked, results);
            List<MemorySegment> candidates = new ArrayList<>();
            for (int i = 0; i < found; i++) {
                MemorySegment entry = results.asSlice(CublasLt.HEURISTIC_RESULT_BYTES * i,
                        CublasLt.HEURISTIC_RESULT_BYTES);
                if (entry.get(JAVA_INT, CublasLt.HEURISTIC_STATE_OFFSET) != 0) continue;
                MemorySegment algo = arena.allocate(CublasLt.ALGO_BYTES, 8);
                algo.copyFrom(entry.asSlice(0, CublasLt.ALGO_BYTES));
                candidates.add(algo);
            }
            if (candidates.isEmpty()) {
                throw new CudaException("cublasLtMatmulAlgoGetHeuristic", 15, "CUBLAS_STATUS_NOT_SUPPORTED",
                        "no algorithm for bf16 A[" + m + "," + k + "] x B[" + n + "," + k + "]^T -> " + output, null);
            }
            return new Plan(desc, first, second, result, candidates);
        } catch (RuntimeException e) {
            if (result != null) blas.destroyLayout(result);
            if (second != null) blas.destroyLayout(second);
            if (first != null) blas.destroyLayout(first);
            if (desc != null) blas.destroyMatmulDesc(desc);
            throw e;
        } finally {
            if (preference != null) blas.destroyPreference(preference);
        }
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (!context.isClosed()) {
            context.makeCurrent();
            for (Plan plan : plans.values()) {
                blas.destroyLayout(plan.first);
                blas.destroyLayout(plan.second);
                blas.destroyLayout(plan.result);
                blas.destroyMatmulDesc(plan.desc);
            }
            blas.destroyHandle(handle);
        }
        plans.clear();
        workspace.close();
        arena.close();
    }
}
