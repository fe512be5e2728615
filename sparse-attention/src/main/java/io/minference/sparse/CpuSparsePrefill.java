package io.minference.sparse;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.attention.PromptAttention;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.pattern.DensePattern;
import io.minference.sparse.pattern.HeadIndex;
import io.minference.sparse.pattern.IndexCapacity;
import io.minference.sparse.pattern.PatternRegistry;
import java.util.List;

/**
 * The CPU sparse prefill of one layer: every head's selection is estimated from the prompt (heads in parallel; a
 * selection is small: kept columns and diagonals, or kept blocks), then heads are written into indices a batch at a
 * time, each batch's index at most {@link #INDEX_INTS_PER_BATCH} ints, and attended by {@link CpuSparseAttention}.
 * A head whose index {@link DenseFallback} finds too dense gets the dense index instead (one range per query block:
 * on the CPU the tiled sparse kernel over a dense index is the fastest dense path there is), the same rule the GPU
 * prefill applies.
 */
final class CpuSparsePrefill implements PromptAttention {
    /** About 256 MB of index per batch of heads (SparseIndex: a 1M-token head can need close to 1 GB alone). */
    static final long INDEX_INTS_PER_BATCH = 64L << 20;

    private final PatternPlan plan;
    private final CpuBackend backend;
    private final PatternRegistry registry;
    private final DenseFallback fallback;
    private final long intsPerBatch;
    private final IndexDensity density;

    CpuSparsePrefill(PatternPlan plan, CpuBackend backend, PatternRegistry registry, DenseFallback fallback) {
        this(plan, backend, registry, fallback, INDEX_INTS_PER_BATCH, IndexDensity.off());
    }

    CpuSparsePrefill(PatternPlan plan, CpuBackend backend, PatternRegistry registry, DenseFallback fallback,
                     long intsPerBatch) {
        this(plan, backend, registry, fallback, intsPerBatch, IndexDensity.off());
    }

    /** @param density counts every index as it is computed (dense fallback heads as dense) */
    CpuSparsePrefill(PatternPlan plan, CpuBackend backend, PatternRegistry registry, DenseFallback fallback,
                     long intsPerBatch, IndexDensity density) {
        registry.validate(plan);
        this.plan = plan;
        this.backend = backend;
        this.registry = registry;
        this.fallback = fallback;
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
            boolean[] dense = fallback.denseHeads(index);
            for (int h = 0; h < heads; h++) {
                if (!dense[h]) continue;
                index.clearHead(h);
                DensePattern.index().writeTo(index, h);
            }
            density.add(index);
            CpuSparseAttention.attend(inputs, values, out, index, backend);
            first += heads;
        }
    }

    private static long intsPerHead(IndexCapacity capacity, int blocks) {
        return (long) blocks * (2L * capacity.maxRanges() + capacity.maxColumns() + 2);
    }
}
