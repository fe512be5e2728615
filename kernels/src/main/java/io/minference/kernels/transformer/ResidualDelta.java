package io.minference.kernels.transformer;

import io.minference.runtime.DType;

/** The element type of what is added to the f32 residual stream, or none (a plain RMSNorm). */
public enum ResidualDelta {
    NONE(null),
    /** An f32 GEMM output. */
    F32(DType.F32),
    /** A bf16 GEMM output, widened exactly before the add. */
    BF16(DType.BF16);

    private final DType dtype;

    ResidualDelta(DType dtype) {
        this.dtype = dtype;
    }

    /** The tensor type of the delta; NONE has none. */
    public DType dtype() {
        if (dtype == null) throw new IllegalStateException("no residual delta");
        return dtype;
    }

    String suffix() {
        return name().toLowerCase();
    }
}
