package io.minference.sparse;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.attention.PromptAttention;
import io.minference.kernels.flash.DevicePromptAttention;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.runtime.cuda.CudaContext;

/** Entry points the model uses to get a sparse prefill that follows a {@link PatternPlan}. */
public final class SparsePrefills {
    private SparsePrefills() {
    }

    /** The CPU sparse prefill (owner: the sparse-core helper). */
    public static PromptAttention cpu(PatternPlan plan, CpuBackend backend) {
        throw new UnsupportedOperationException("stub: sparse-core helper");
    }

    /** The GPU sparse prefill for one layer shape: device index building, then sparse flash attention. */
    public static DevicePromptAttention gpu(PatternPlan plan, CudaContext context, AttentionShape shape) {
        return new io.minference.sparse.gpu.GpuSparsePrefill(plan, context, shape);
    }
}
