package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.DevicePromptAttention;
import io.minference.kernels.flash.PhaseMarks;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DevicePointer;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.pattern.IndexCapacity;
import io.minference.sparse.pattern.PatternRegistry;
import java.util.List;

/**
 * The sparse prefill on the device, layer by layer:
 * <pre>
 *   for each batch of heads (sized so that its index fits {@link #INDEX_BUDGET_BYTES}):
 *     GpuIndexBuilder.build      q, k            → DeviceSparseIndex  (estimation + index, all heads of the batch)
 *     SparseFlashAttention       q, k, v, index  → out rows of those heads
 * </pre>
 * Everything is queued on the caller's stream; the host only picks the batch sizes. The builder keeps one index
 * buffer and reuses it (waiting for the stream before it writes it again).
 */
public final class GpuSparsePrefill implements DevicePromptAttention {
    /** Device memory one batch's index may take. */
    static final long INDEX_BUDGET_BYTES = 2L << 30;

    private final PatternPlan plan;
    private final AttentionShape shape;
    private final GpuIndexBuilder builder;
    private final SparseFlashAttention attention;
    private PhaseMarks marks = PhaseMarks.NONE;

    public GpuSparsePrefill(PatternPlan plan, CudaContext context, AttentionShape shape) {
        this.plan = plan;
        this.shape = shape;
        this.builder = new GpuIndexBuilder(context, shape);
        try {
            this.attention = new SparseFlashAttention(context, shape);
        } catch (RuntimeException e) {
            builder.close();
            throw e;
        }
    }

    @Override
    public void attend(CudaStream stream, int layer, DevicePointer q, DevicePointer k, DevicePointer v,
                       DevicePointer out, int length) {
        List<HeadPattern> patterns = plan.layers().get(layer);
        int heads = shape.numHeads();
        int batch = headsPerBatch(patterns, length);
        for (int first = 0; first < heads; first += batch) {
            int count = Math.min(batch, heads - first);
            marks.mark(stream, PhaseMarks.Phase.INDEX);
            try (DeviceSparseIndex index = builder.build(stream, patterns, first, count, q, k, length)) {
                marks.mark(stream, PhaseMarks.Phase.ATTENTION);
                attention.launch(stream, q, k, v, out, index);
            }
        }
    }

    /** Heads per batch: as many as keep the largest head's index within {@link #INDEX_BUDGET_BYTES}. */
    static int headsPerBatch(List<HeadPattern> patterns, int length) {
        long largest = 1;
        for (HeadPattern p : patterns) largest = Math.max(largest, indexBytes(p, length));
        return (int) Math.max(1, Math.min(patterns.size(), INDEX_BUDGET_BYTES / largest));
    }

    /** An upper bound of one head's index bytes under a pattern (a mass budget may keep every candidate). */
    static long indexBytes(HeadPattern pattern, int length) {
        IndexCapacity capacity = PatternRegistry.builtIn().capacity(pattern, length);
        return DeviceSparseIndex.bytes(1, length, capacity.maxRanges(), capacity.maxColumns());
    }

    @Override
    public void markPhases(PhaseMarks marks) {
        this.marks = marks;
    }

    @Override
    public void close() {
        attention.close();
        builder.close();
    }
}
