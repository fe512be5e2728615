package io.minference.sparse;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.attention.PromptAttention;
import io.minference.kernels.flash.DevicePromptAttention;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.runtime.cuda.CudaContext;
import io.minference.sparse.gpu.GpuSparsePrefill;
import io.minference.sparse.pattern.PatternRegistry;

/** Entry points the model uses to get a sparse prefill that follows a {@link PatternPlan}. */
public final class SparsePrefills {
    private SparsePrefills() {
    }

    /**
     * The CPU sparse prefill: per layer, each head's index estimated from the prompt by its pattern (found by name in
     * {@link PatternRegistry#standard()}), then {@link CpuSparseAttention} over it. Unknown patterns in the plan are
     * refused here, before any work.
     */
    public static PromptAttention cpu(PatternPlan plan, CpuBackend backend) {
        return cpu(plan, backend, PatternRegistry.standard());
    }

    /** As {@link #cpu(PatternPlan, CpuBackend)}, with the patterns of {@code registry}. */
    public static PromptAttention cpu(PatternPlan plan, CpuBackend backend, PatternRegistry registry) {
        return cpu(plan, backend, registry, DenseFallback.configured());
    }

    /** As {@link #cpu(PatternPlan, CpuBackend)}, counting every index it computes into {@code density}. */
    public static PromptAttention cpu(PatternPlan plan, CpuBackend backend, IndexDensity density) {
        return new CpuSparsePrefill(plan, backend, PatternRegistry.standard(), DenseFallback.configured(),
                CpuSparsePrefill.INDEX_INTS_PER_BATCH, density);
    }

    /**
     * As {@link #cpu(PatternPlan, CpuBackend, PatternRegistry)}, with heads falling back to dense by
     * {@code fallback}.
     */
    public static PromptAttention cpu(PatternPlan plan, CpuBackend backend, PatternRegistry registry,
                                      DenseFallback fallback) {
        return new CpuSparsePrefill(plan, backend, registry, fallback);
    }

    /**
     * The GPU sparse prefill for one layer shape: device index building, then sparse flash attention (heads whose
     * index is too dense for {@link DenseFallback#configured()} run dense flash attention).
     */
    public static DevicePromptAttention gpu(PatternPlan plan, CudaContext context, AttentionShape shape) {
        return gpu(plan, context, shape, DenseFallback.configured(), IndexDensity.off());
    }

    /**
     * As {@link #gpu(PatternPlan, CudaContext, AttentionShape)}; a measuring {@code density} has every index copied
     * back and counted (the stream waits for each), which a timed run should not do.
     */
    public static DevicePromptAttention gpu(PatternPlan plan, CudaContext context, AttentionShape shape,
                                            IndexDensity density) {
        return gpu(plan, context, shape, DenseFallback.configured(), density);
    }

    /**
     * As {@link #gpu(PatternPlan, CudaContext, AttentionShape)}, with heads falling back to dense by
     * {@code fallback}.
     */
    public static DevicePromptAttention gpu(PatternPlan plan, CudaContext context, AttentionShape shape,
                                            DenseFallback fallback) {
        return gpu(plan, context, shape, fallback, IndexDensity.off());
    }

    /** The GPU sparse prefill with both choices explicit. */
    public static DevicePromptAttention gpu(PatternPlan plan, CudaContext context, AttentionShape shape,
                                            DenseFallback fallback, IndexDensity density) {
        return new GpuSparsePrefill(plan, context, shape, fallback, density);
    }
}
