package io.minference.runtime.cuda;

import io.minference.runtime.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
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
 */
public final class CublasLtGemm implements AutoCloseable {
    /** cuBLAS's recommended workspace for Hopper (and more than enough before it). */
    public static final long WORKSPACE_BYTES = 32L << 20;

    private final CudaContext context;
    private final CublasLt blas;
    private final MemorySegment handle;
    private final DeviceBuffer workspace;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment zero;
    private final MemorySegment one;
    private final Map<PlanKey, Plan> plans = new HashMap<>();
    private boolean closed;

    private record PlanKey(long m, long n, long k, DType output) {
    }

    private record Plan(MemorySegment desc, MemorySegment first, MemorySegment second, MemorySegment result,
                        MemorySegment algo) {
    }

    private CublasLtGemm(CudaContext context, CublasLt blas) {
        this.context = context;
        this.blas = blas;
        context.makeCurrent();
        this.handle = blas.createHandle();
        this.workspace = context.allocate(WORKSPACE_BYTES);
        this.zero = arena.allocateFrom(JAVA_FLOAT, 0f);
        this.one = arena.allocateFrom(JAVA_FLOAT, 1f);
    }

    /** Loads cuBLASLt (failing with {@link CudaUnavailableException} when absent) and creates a handle. */
    public static CublasLtGemm create(CudaContext context) {
        return new CublasLtGemm(context, CublasLt.load());
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
        MemorySegment out = MemorySegment.ofAddress(c.address());
        blas.matmul(handle, plan.desc(), one, MemorySegment.ofAddress(b.address()), plan.first(),
                MemorySegment.ofAddress(a.address()), plan.second(), beta, out, plan.result(), out, plan.result(),
                plan.algo(), MemorySegment.ofAddress(workspace.address()), WORKSPACE_BYTES, stream.handle());
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
            MemorySegment results = scratch.allocate(CublasLt.HEURISTIC_RESULT_BYTES, 8);
            int found = blas.algoGetHeuristic(handle, desc, first, second, result, result, preference, 1, results);
            if (found == 0 || results.get(JAVA_INT, CublasLt.HEURISTIC_STATE_OFFSET) != 0) {
                throw new CudaException("cublasLtMatmulAlgoGetHeuristic", 15, "CUBLAS_STATUS_NOT_SUPPORTED",
                        "no algorithm for bf16 A[" + m + "," + k + "] x B[" + n + "," + k + "]^T -> " + output, null);
            }
            MemorySegment algo = arena.allocate(CublasLt.ALGO_BYTES, 8);
            algo.copyFrom(results.asSlice(0, CublasLt.ALGO_BYTES));
            return new Plan(desc, first, second, result, algo);
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
                blas.destroyLayout(plan.first());
                blas.destroyLayout(plan.second());
                blas.destroyLayout(plan.result());
                blas.destroyMatmulDesc(plan.desc());
            }
            blas.destroyHandle(handle);
        }
        plans.clear();
        workspace.close();
        arena.close();
    }
}
