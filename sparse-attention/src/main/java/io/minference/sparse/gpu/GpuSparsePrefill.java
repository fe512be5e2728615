package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.DevicePromptAttention;
import io.minference.kernels.flash.FlashAttention;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DevicePointer;
import io.minference.sparse.DenseFallback;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.pattern.IndexCapacity;
import io.minference.sparse.pattern.PatternRegistry;
import java.util.Arrays;
import java.util.List;

/**
 * The sparse prefill on the device, layer by layer:
 * <pre>
 *   a layer whose heads are all dense patterns: FlashAttention.prefill (nothing to estimate)
 *   for each batch of heads (sized so that its index fits {@link #INDEX_BUDGET_BYTES}):
 *     GpuIndexBuilder.build      q, k            → DeviceSparseIndex  (estimation + index, all heads of the batch)
 *     GpuIndexBuilder.tiles      index           → key tiles per head (read back: the one wait of the batch)
 *     SparseFlashAttention       q, k, v, index  → out rows of the heads that stay sparse, a launch per run of them
 *   FlashAttention.prefillHeads  q, k, v         → out rows of the heads {@link DenseFallback} sends to dense, all
 *                                                  batches' together (one launch when every head falls back)
 * </pre>
 * The host picks the batch sizes and reads back one count per head per batch to apply the fallback, so that the
 * rule is the CPU prefill's ({@code SparsePrefills.cpu}) on the same counts. The builder keeps one index buffer and
 * reuses it (waiting for the stream before it writes it again).
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

    public GpuSparsePrefill(PatternPlan plan, CudaContext context, AttentionShape shape, DenseFallback fallback) {
        this.plan = plan;
        this.shape = shape;
        this.fallback = fallback;
        this.builder = new GpuIndexBuilder(context, shape);
        try {
            this.attention = new SparseFlashAttention(context, shape);
            this.dense = new FlashAttention(context, shape);
        } catch (RuntimeException e) {
            builder.close();
            throw e;
        }
    }

    /**
     * What one layer's prefill did: per head, the key tiles its index needs ({@code -1} where nothing was
     * estimated: a dense pattern in an all-dense layer) and whether it ran dense.
     */
    public record LayerRun(long[] indexTiles, boolean[] denseHeads, int batches) {
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
            dense.prefill(stream, q, k, v, out, length, 0);
            return new LayerRun(tiles, denseHeads, 0);
        }
        int batch = headsPerBatch(patterns, length);
        int batches = 0;
        for (int batchStart = 0; batchStart < heads; batchStart += batch, batches++) {
            int first = batchStart;
            int count = Math.min(batch, heads - first);
            try (DeviceSparseIndex index = builder.build(stream, patterns, first, count, q, k, length)) {
                long[] batchTiles = builder.tiles(stream, index);
                for (int slot = 0; slot < count; slot++) {
                    tiles[first + slot] = batchTiles[slot];
                    denseHeads[first + slot] = fallback.runsDense(batchTiles[slot], length);
                }
                eachRun(denseHeads, first, count, false,
                        (from, n) -> attention.launch(stream, q, k, v, out, index, from - first, n));
            }
        }
        eachRun(denseHeads, 0, heads, true, (from, n) -> dense.prefillHeads(stream, q, k, v, out, length, 0, from, n));
        return new LayerRun(tiles, denseHeads, batches);
    }

    private interface HeadRun {
        void launch(int firstHead, int heads);
    }

    /** Calls {@code run} for each maximal run of heads in {@code [first, first + count)} whose flag is {@code value}. */
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

    /** Heads per batch: as many as keep the largest head's index within {@link #INDEX_BUDGET_BYTES}. */
    public static int headsPerBatch(List<HeadPattern> patterns, int length) {
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
    public void close() {
        dense.close();
        attention.close();
        builder.close();
    }
}
