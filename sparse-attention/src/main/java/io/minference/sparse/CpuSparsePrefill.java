package io.minference.sparse;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.attention.PromptAttention;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.pattern.HeadIndex;
import io.minference.sparse.pattern.IndexCapacity;
import io.minference.sparse.pattern.PatternRegistry;
import java.util.List;

/**
 * The CPU sparse prefill of one layer: every head's selection is estimated from the prompt (heads in parallel; a
 * selection is small: kept columns and diagonals, or kept blocks), then heads are written into indices a batch at a
 * time, each batch's index at most {@link #INDEX_INTS_PER_BATCH} ints, and attended by {@link CpuSparseAttention}.
 */
final class CpuSparsePrefill implements PromptAttention {
    /** About 256 MB of index per batch of heads (SparseIndex: a 1M-token head can need close to 1 GB alone). */
    static final long INDEX_INTS_PER_BATCH = 64L << 20;

    private final PatternPlan plan;
    private final CpuBackend backend;
    private final PatternRegistry registry;
    private final long intsPerBatch;
    private final IndexDensity density;

    CpuSparsePrefill(PatternPlan plan, CpuBackend backend, PatternRegistry registry) {
        this(plan, backend, registry, INDEX_INTS_PER_BATCH, IndexDensity.off());
    }

    CpuSparsePrefill(PatternPlan plan, CpuBackend backend, PatternRegistry registry, long intsPerBatch) {
        this(plan, backend, registry, intsPerBatch, IndexDensity.off());
    }

    /** @param density counts every index built */
    CpuSparsePrefill(PatternPlan plan, CpuBackend backend, PatternRegistry registry, long intsPerBatch,
                     IndexDensity density) {
        registry.validate(plan);
        this.plan = plan;
        this.backend = backend;
        this.registry = registry;
        this.intsPerBatch = intsPerBatch;
        this.density = density;
    }

    @Override
    public void attend(int layer, AttentionShape shape, Tensor queries, Tensor keys, Tensor values, Tensor out,
                       int length) {
        if (layer < 0 || layer >= plan.numLayers()) {
            throw new IllegalArgumentException("layer " + layer + " is outside the pattern plan's "
                    + plan.numLayers() + " layers");
        }
        List<HeadPattern> patterns = plan.layers().get(layer);
        if (patterns.size() != shape.numHeads()) {
            throw new IllegalArgumentException("layer " + layer + " of the pattern plan has " + patterns.size()
                    + " heads, the model " + shape.numHeads());
        }
        LayerInputs inputs = new LayerInputs(shape, queries, keys, length);
        HeadIndex[] selections = new HeadIndex[shape.numHeads()];
        backend.parallelFor(shape.numHeads(), h -> selections[h] = registry.estimate(patterns.get(h), inputs, h));
        int blocks = SparseIndex.queryBlocks(length);
        for (int first = 0; first < shape.numHeads(); ) {
            IndexCapacity capacity = selections[first].capacity();
            int heads = 1;
            while (first + heads < shape.numHeads()) {
                IndexCapacity wider = capacity.union(selections[first + heads].capacity());
                if (intsPerHead(wider, blocks) * (heads + 1) > intsPerBatch) break;
                capacity = wider;
                heads++;
            }
            SparseIndex index = new SparseIndex(first, heads, length, capacity.maxRanges(), capacity.maxColumns());
            for (int h = 0; h < heads; h++) selections[first + h].writeTo(index, h);
            density.add(index);
            CpuSparseAttention.attend(inputs, values, out, index, backend);
            first += heads;
        }
    }

    private static long intsPerHead(IndexCapacity capacity, int blocks) {
        return (long) blocks * (2L * capacity.maxRanges() + capacity.maxColumns() + 2);
    }
}
