package io.minference.runtime.cuda;

import io.minference.runtime.Backend;

/**
 * The CUDA backend: one device's primary context, a stream that work is queued on, and cuBLASLt once a GEMM asks
 * for it. {@link #open} fails with a {@link CudaUnavailableException} that says which part is missing; use
 * {@link CudaDriver#availability()} to decide without opening.
 */
public final class CudaBackend implements Backend {
    private final CudaContext context;
    private final CudaStream stream;
    private CublasLtGemm gemm;

    private CudaBackend(CudaContext context) {
        this.context = context;
        this.stream = context.createStream();
    }

    /** Opens device {@code ordinal} ("cuda:ordinal"). */
    public static CudaBackend open(int ordinal) {
        CudaContext context = CudaContext.open(ordinal);
        try {
            return new CudaBackend(context);
        } catch (RuntimeException e) {
            context.close();
            throw e;
        }
    }

    @Override
    public String name() {
        return "cuda:" + context.device().ordinal();
    }

    public CudaContext context() {
        return context;
    }

    public CudaDevice device() {
        return context.device();
    }

    /** The stream this backend queues its work on. */
    public CudaStream stream() {
        return stream;
    }

    /** cuBLASLt GEMMs, created on first use; throws {@link CudaUnavailableException} when cuBLASLt is absent. */
    public synchronized CublasLtGemm gemm() {
        if (gemm == null) gemm = CublasLtGemm.create(context);
        return gemm;
    }

    @Override
    public synchronized void close() {
        if (context.isClosed()) return;
        if (gemm != null) gemm.close();
        stream.close();
        context.close();
    }

    @Override
    public String toString() {
        return context.device().toString();
    }
}
