package io.minference.runtime.cuda;

/**
 * A CUDA driver or cuBLAS call that returned an error status. The message names the call, the status's symbolic name
 * and the library's description of it, and any detail the caller added (a JIT log, say).
 */
public class CudaException extends RuntimeException {
    private final String call;
    private final int status;
    private final String statusName;

    public CudaException(String call, int status, String statusName, String description, String detail) {
        super(message(call, status, statusName, description, detail));
        this.call = call;
        this.status = status;
        this.statusName = statusName;
    }

    private static String message(String call, int status, String statusName, String description, String detail) {
        StringBuilder text = new StringBuilder(call).append(" failed: ").append(statusName);
        if (!statusName.contains(Integer.toString(status))) text.append(" (").append(status).append(')');
        if (description != null && !description.isBlank()) text.append(": ").append(description);
        if (detail != null && !detail.isBlank()) text.append('\n').append(detail.strip());
        return text.toString();
    }

    /** The function that failed, e.g. {@code cuMemAlloc_v2}. */
    public String call() {
        return call;
    }

    /** The numeric status (a {@code CUresult} or a {@code cublasStatus_t}). */
    public int status() {
        return status;
    }

    /** The symbolic status, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}. */
    public String statusName() {
        return statusName;
    }
}
