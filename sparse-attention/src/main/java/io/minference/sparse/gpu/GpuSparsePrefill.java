package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.DevicePromptAttention;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.flash.PhaseMarks;
import io.minference.kernels.flash.PrefillKernel;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DevicePointer;
import io.minference.sparse.DenseFallback;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.IndexDensity;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.SparseIndex;
import java.util.Arrays;
import java.util.List;

/**
 * The sparse prefill on the device, layer by layer:
 * <pre>
 *   a layer whose heads are all dense patterns: FlashAttention.prefill (nothing to estimate)
 *   GpuIndexBuilder.estimate     q, k            → what every (head, query block) slot of the index needs
 *   for each batch of heads (as many as keep their compact index within {@link #INDEX_BUDGET_BYTES}):
 *     GpuIndexBuilder.assemble   estimate        → DeviceSparseIndex (compact: each slot reserved what it needs)
 *     GpuIndexBuilder.tiles      index           → key tiles per head (read back)
 *     SparseFlashAttention       q, k, v, index  → out rows of the heads that stay sparse, a launch per run of them
 *   FlashAttention.prefillHeads  q, k, v         → out rows of the heads {@link DenseFallback} sends to dense, all
 *                                                  batches' together (one launch when every head falls back)
 * </pre>
 * The host reads back the heads' sums of needs once per layer (to size the batches) and one tile count per head per
 * batch (to apply the fallback, by the CPU prefill's rule on the same counts); a measuring density also reads the keys
 * each head attends, counted on the device in the same wait ({@link IndexKeys}), never the index itself. The builder
 * keeps one index buffer and reuses it (waiting for the stream before it writes it again).
 */
public final class GpuSparsePrefill implements DevicePromptAttention {
    /** Device memory one batch's index may take. */
    static final long INDEX_BUDGET_BYTES = 2L << 30;

    private final PatternPlan plan;
    private final AttentionShape shape;
    private final DenseFallback fallback;
    private final GpuIndexBuilder builder;
    private final SparseFlashAttention attention;
    private final FlashAttention dense;
    private final IndexDensity density;
    private PhaseMarks marks = PhaseMarks.NONE;

    public GpuSparsePrefill(PatternPlan plan, CudaContext context, AttentionShape shape, DenseFallback fallback) {
        this(plan, context, shape, fallback, IndexDensity.off());
    }

    /**
     * @param density counts every head's attended keys when it is measuring (a count per head made on the device and
     *                read back with the tile counts), the heads that fall back to dense as dense
     */
    public GpuSparsePrefill(PatternPlan plan, CudaContext context, AttentionShape shape, DenseFallback fallback,
                            IndexDensity density) {
        this(plan, context, shape, fallback, density, HopperSparseFlashPrefill.Variant.configured());
    }

    /**
     * With the Hopper sparse kernel's {@code variant} given instead of read from the system properties (a benchmark
     * that times several variants in one process); the kernel family is still {@link PrefillKernel#configured()}'s.
     */
    public GpuSparsePrefill(PatternPlan plan, CudaContext context, AttentionShape shape, DenseFallback fallback,
                            HopperSparseFlashPrefill.Variant variant) {
        this(plan, context, shape, fallback, IndexDensity.off(), variant);
    }

    private GpuSparsePrefill(PatternPlan plan, CudaContext context, AttentionShape shape, DenseFallback fallback,
                             IndexDensity density, HopperSparseFlashPrefill.Variant variant) {
        this.plan = plan;
        this.density = density;
        this.shape = shape;
        this.fallback = fallback;
        this.builder = new GpuIndexBuilder(context, shape);
        try {
            this.attention = new SparseFlashAttention(context, shape, PrefillKernel.configured(), variant);
            this.dense = new FlashAttention(context, shape);
        } catch (RuntimeException e) {
            builder.close();
            throw e;
        }
    }

    /**
     * What one layer's prefill did: per head, the key tiles its index needs ({@code -1} where nothing was
     * estimated: a dense pattern in an all-dense layer) and whether it ran dense; the head batches, the largest
     * batch's compact index bytes and what the whole layer's index would take in the former fixed layout.
     */
    public record LayerRun(long[] indexTiles, boolean[] denseHeads, int batches, long indexBytes,
                           long fixedLayoutBytes) {
        public int fallbackHeads() {
            int n = 0;
            for (boolean d : denseHeads) if (d) n++;
            return n;
        }

        /** Key tiles computed: each sparse head's index tiles, each dense head's causal tiles. */
        public long tilesComputed(int length) {
            long tiles = 0;
            for (int h = 0; h < indexTiles.length; h++) {
                tiles += denseHeads[h] ? SparseIndex.causalTiles(length) : indexTiles[h];
            }
            return tiles;
        }
    }

    @Override
    public void attend(CudaStream stream, int layer, DevicePointer q, DevicePointer k, DevicePointer v,
                       DevicePointer out, int length) {
        run(stream, layer, q, k, v, out, length);
    }

    /** {@link #attend}, saying what it did (for benchmarks and tests; waits for each batch's estimation). */
    public LayerRun run(CudaStream stream, int layer, DevicePointer q, DevicePointer k, DevicePointer v,
                        DevicePointer out, int length) {
        List<HeadPattern> patterns = plan.layers().get(layer);
        int heads = shape.numHeads();
        long[] tiles = new long[heads];
        boolean[] denseHeads = new boolean[heads];
        if (patterns.stream().allMatch(p -> p instanceof HeadPattern.Dense)) {
            Arrays.fill(tiles, -1);
            Arrays.fill(denseHeads, true);
            marks.mark(stream, PhaseMarks.Phase.ATTENTION);
            dense.prefill(stream, q, k, v, out, length, 0);
            density.addDense(heads, length);
            return new LayerRun(tiles, denseHeads, 0, 0, 0);
        }
        marks.mark(stream, PhaseMarks.Phase.INDEX);
        GpuIndexBuilder.Estimate estimate = builder.estimate(stream, patterns, 0, heads, q, k, length, null);
        int batches = 0;
        long indexBytes = 0;
        for (int first = 0; first < heads; batches++) {
            int count = headsPerBatch(estimate, first);
            indexBytes = Math.max(indexBytes, estimate.indexBytes(first, count));
            marks.mark(stream, PhaseMarks.Phase.INDEX);
            try (DeviceSparseIndex index = builder.assemble(stream, estimate, first, count)) {
                GpuIndexBuilder.HeadCounts counts = builder.counts(stream, index, density.measuring());
                for (int slot = 0; slot < count; slot++) {
                    tiles[first + slot] = counts.tiles()[slot];
                    denseHeads[first + slot] = fallback.runsDense(counts.tiles()[slot], length);
                }
                if (density.measuring()) countDensity(counts.keys(), denseHeads, first, count, length);
                int batchStart = first;
                marks.mark(stream, PhaseMarks.Phase.ATTENTION);
                eachRun(denseHeads, first, count, false,
                        (from, n) -> attention.launch(stream, q, k, v, out, index, from - batchStart, n));
            }
            first += count;
        }
        marks.mark(stream, PhaseMarks.Phase.ATTENTION);
        eachRun(denseHeads, 0, heads, true, (from, n) -> dense.prefillHeads(stream, q, k, v, out, length, 0, from, n));
        return new LayerRun(tiles, denseHeads, batches, indexBytes, estimate.fixedLayoutBytes(0, heads));
    }

    /**
     * Counts the batch's computed area from the keys its heads attend ({@link IndexKeys}, counted on the device in
     * the same wait as the tiles): each sparse head's keys, each fallback head's whole causal area.
     */
    private void countDensity(long[] keys, boolean[] denseHeads, int first, int count, int length) {
        for (int slot = 0; slot < count; slot++) {
            if (denseHeads[first + slot]) density.addDense(1, length);
            else density.addKeys(keys[slot], 1, length);
        }
    }

    private interface HeadRun {
        void launch(int firstHead, int heads);
    }

    /**
     * Calls {@code run} for each maximal run of heads in {@code [first, first + count)} whose flag is
     * {@code value}.
     */
    private static void eachRun(boolean[] flags, int first, int count, boolean value, HeadRun run) {
        for (int h = first; h < first + count; ) {
            if (flags[h] != value) {
                h++;
                continue;
            }
            int end = h;
            while (end < first + count && flags[end] == value) end++;
            run.launch(h, end - h);
            h = end;
        }
    }

    /**
     * Heads of the batch starting at estimated head {@code first}: as many as keep their compact index within
     * {@link #INDEX_BUDGET_BYTES}, at least one.
     */
    public static int headsPerBatch(GpuIndexBuilder.Estimate estimate, int first) {
        int count = 1;
        while (first + count < estimate.heads()
                && estimate.indexBytes(first, count + 1) <= INDEX_BUDGET_BYTES) {
            count++;
        }
        return count;
    }

    @Override
    public void markPhases(PhaseMarks marks) {
        this.marks = marks;
    }

    @Override
    public void close() {
        dense.close();
        attention.close();
        builder.close();
    }
}
