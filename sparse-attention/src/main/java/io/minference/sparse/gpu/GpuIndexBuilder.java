package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.ptx.PtxTarget;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaEvent;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.DevicePointer;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.LaunchShape;
import io.minference.runtime.cuda.PinnedHostBuffer;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.SparseIndex;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Estimates and builds a layer's sparse index on the device, all heads of a step in one launch per kernel (no
 * per-head loop on the host: the heads' patterns travel as a small int32 array). Follows docs/sparse-attention.md
 * exactly, so that its index equals the CPU reference's up to the doc's float tolerance.
 * <p>In two steps, so that the index can be compact and its head batches sized by what the heads really need:
 * <ul>
 *   <li>{@link #estimate}: vertical-slash heads run {@link VerticalSlashTile} (tensor-core logits) twice (row
 *       statistics, then scores) with {@link VerticalSlashRowStats} between, then {@link VerticalSlashSelect};
 *       block-sparse heads run {@link BlockPool}; then {@link IndexAssembly}'s counting pass says what every
 *       (head, query block) slot needs, and adds it up per head: the heads' sums are read back
 *       ({@link Estimate});</li>
 *   <li>{@link #assemble}: for any run of the estimated heads, {@link SlotOffsets} reserves each slot exactly what it
 *       needs ({@link DeviceSparseIndex}'s compact layout, the offsets worked out on the device), {@link IndexAssembly}
 *       writes the dense, A-shape and vertical-slash slots and {@link BlockSparseSelect} the block-sparse ones.</li>
 * </ul>
 * Scratch kept between builds (grown on demand): the column and diagonal scores of the estimated heads
 * ({@code 8 · heads · L} bytes, reused in place for the kept lists), per-tile row statistics ({@code 2 · heads · L}
 * bytes), the slots' needs, and for block-sparse heads the pooled means ({@code 4 · (heads + numKvHeads) · L · d /
 * 64} bytes): no {@code [heads, 64, L]} probability buffer is kept. An estimate stays valid until the next one;
 * every step waits for the previous work on the stream before reusing the scratch. Not thread-safe.
 */
public final class GpuIndexBuilder implements AutoCloseable {
    /** What {@link #build} with poison fills the index with: counts no build can produce. */
    static final int POISON = 0x7FC0DEAD;

    private final CudaContext context;
    private final AttentionShape shape;
    private final PtxTarget target;
    private final Kernel rowStatsTile;
    private final Kernel scoresTile;
    private final Kernel combine;
    private final Kernel select;
    private final Kernel runs;
    private final Kernel assembly;
    private final Kernel count;
    private final Kernel pool;
    private final Kernel countTiles;
    private final Kernel offsets;
    /** Loaded at the first {@link #counts} that asks for keys (a measuring prefill). */
    private Kernel countKeys;
    private final Map<Integer, Kernel> blockSelects = new HashMap<>();
    private DeviceBuffer params;
    private DeviceBuffer scores;
    private DeviceBuffer tileStats;
    private DeviceBuffer rowStats;
    private DeviceBuffer kept;
    /**
     * Per vertical-slash slot, its kept diagonals' runs ({@link VerticalSlashRuns}), their counts, and the kept
     * diagonals as a bitmap (a bit a position).
     */
    private DeviceBuffer diagonalRuns;
    private DeviceBuffer runCounts;
    private DeviceBuffer diagonalBits;
    /** Per head slot, the counting pass's sums and maxima of its slots' needs ({@link SlotOffsets#HEAD_WORDS}). */
    private DeviceBuffer headTotals;
    private DeviceBuffer pooledQ;
    private DeviceBuffer pooledK;
    private DeviceBuffer headTiles;
    private DeviceBuffer headKeys;
    private DeviceBuffer needs;
    /** Holds the index of the last build: reused by the next one (which waits for the stream first). */
    private DeviceBuffer indexArena;
    /**
     * Page-locked host memory the heads' sums of needs come back through, asynchronously on the stream. (Every
     * slot's needs once came back and their offsets went out this way, a megabyte each way per layer at 128K tokens
     * and eight at 1M, with the host's pass over them between while the device waited; {@link SlotOffsets} now
     * works the offsets out on the device.)
     */
    private PinnedHostBuffer staging;

    public GpuIndexBuilder(CudaContext context, AttentionShape shape) {
        this(context, shape, true);
    }

    /** With {@code tensorCores} false the estimation logits are computed on the CUDA cores (kept as a cross-check). */
    GpuIndexBuilder(CudaContext context, AttentionShape shape, boolean tensorCores) {
        this.context = context;
        this.shape = shape;
        this.target = context.device().ptxTarget();
        LaunchShape placeholder = LaunchShape.of(1, 32);
        VerticalSlashTile stats = new VerticalSlashTile(shape.headDim(), VerticalSlashTile.Mode.ROW_STATS,
                tensorCores);
        this.rowStatsTile = context.kernel(stats.emit(target), placeholder);
        this.scoresTile = context.kernel(new VerticalSlashTile(shape.headDim(), VerticalSlashTile.Mode.SCORES,
                tensorCores).emit(target), placeholder);
        this.combine = context.kernel(new VerticalSlashRowStats().emit(target), placeholder);
        this.select = context.kernel(new VerticalSlashSelect().emit(target), placeholder);
        this.runs = context.kernel(new VerticalSlashRuns().emit(target), placeholder);
        this.assembly = context.kernel(new IndexAssembly(false).emit(target), placeholder);
        this.count = context.kernel(new IndexAssembly(true).emit(target), placeholder);
        this.pool = context.kernel(new BlockPool(shape.headDim()).emit(target), placeholder);
        this.countTiles = context.kernel(new IndexTiles().emit(target), placeholder);
        this.offsets = context.kernel(new SlotOffsets().emit(target), placeholder);
    }

    /**
     * What {@link #estimate} found for a run of heads: per head slot, the sums and maxima of the ranges and columns
     * its query blocks' slots need ({@link HeadNeeds}); the slots' own needs stay on the device for
     * {@link SlotOffsets}. Valid until the builder's next estimate.
     */
    public static final class Estimate {
        private final GpuIndexBuilder owner;
        private final int firstHead;
        private final int heads;
        private final int length;
        private final HeadNeeds needs;
        private final boolean blockSparse;
        private final long generation;

        Estimate(GpuIndexBuilder owner, int firstHead, int heads, int length, HeadNeeds needs, boolean blockSparse,
                 long generation) {
            if (needs.heads() != heads) {
                throw new IllegalArgumentException(heads + " heads estimated, needs given for " + needs.heads());
            }
            this.owner = owner;
            this.firstHead = firstHead;
            this.heads = heads;
            this.length = length;
            this.needs = needs;
            this.blockSparse = blockSparse;
            this.generation = generation;
        }

        public int firstHead() { return firstHead; }
        public int heads() { return heads; }
        public int length() { return length; }

        /** Device bytes the compact index of estimated head slots {@code [from, from + count)} takes. */
        public long indexBytes(int from, int count) {
            return DeviceSparseIndex.bytes(count, length, needs.ranges(from, count), needs.columns(from, count));
        }

        /**
         * Bytes the same slots took in the fixed layout before the compact one: every slot given the busiest
         * slot's room ({@code 8 maxRanges + 4 maxColumns + 8} bytes), for comparison.
         */
        public long fixedLayoutBytes(int from, int count) {
            int blocks = SparseIndex.queryBlocks(length);
            long maxRanges = 1, maxColumns = 0;
            for (int h = from; h < from + count; h++) {
                maxRanges = Math.max(maxRanges, needs.maxRanges()[h]);
                maxColumns = Math.max(maxColumns, needs.maxColumns()[h]);
            }
            return (long) count * blocks * (8 * maxRanges + 4 * maxColumns + 8);
        }
    }

    /**
     * Per head slot of an estimate, the ranges and columns its slots need: sums (batches are sized from these) and
     * the busiest slot's, as {@link IndexAssembly}'s counting pass adds them up on the device.
     */
    public record HeadNeeds(long[] rangeSums, long[] columnSums, long[] maxRanges, long[] maxColumns) {
        public HeadNeeds {
            int heads = rangeSums.length;
            if (columnSums.length != heads || maxRanges.length != heads || maxColumns.length != heads) {
                throw new IllegalArgumentException("per-head needs of unequal lengths");
            }
        }

        /** From the slots' own needs, slot {@code h * queryBlocks + b} for head h and query block b. */
        public static HeadNeeds ofSlots(int[] rangeNeeds, int[] columnNeeds, int queryBlocks) {
            int heads = rangeNeeds.length / queryBlocks;
            HeadNeeds needs = new HeadNeeds(new long[heads], new long[heads], new long[heads], new long[heads]);
            for (int s = 0; s < heads * queryBlocks; s++) {
                int h = s / queryBlocks;
                needs.rangeSums[h] += rangeNeeds[s];
                needs.columnSums[h] += columnNeeds[s];
                needs.maxRanges[h] = Math.max(needs.maxRanges[h], rangeNeeds[s]);
                needs.maxColumns[h] = Math.max(needs.maxColumns[h], columnNeeds[s]);
            }
            return needs;
        }

        /** From the counting pass's {@link SlotOffsets#HEAD_WORDS} unsigned words a head. */
        static HeadNeeds ofTotals(int[] words, int heads) {
            HeadNeeds needs = new HeadNeeds(new long[heads], new long[heads], new long[heads], new long[heads]);
            for (int h = 0; h < heads; h++) {
                int at = h * SlotOffsets.HEAD_WORDS;
                needs.rangeSums[h] = Integer.toUnsignedLong(words[at]);
                needs.columnSums[h] = Integer.toUnsignedLong(words[at + 1]);
                needs.maxRanges[h] = Integer.toUnsignedLong(words[at + 2]);
                needs.maxColumns[h] = Integer.toUnsignedLong(words[at + 3]);
            }
            return needs;
        }

        int heads() {
            return rangeSums.length;
        }

        long ranges(int from, int count) {
            return sum(rangeSums, from, count);
        }

        long columns(int from, int count) {
            return sum(columnSums, from, count);
        }

        private static long sum(long[] perHead, int from, int count) {
            long total = 0;
            for (int h = from; h < from + count; h++) total += perHead[h];
            return total;
        }
    }

    private long generation;

    /**
     * Queues estimation and index building for heads {@code [firstHead, firstHead + heads)} of a prompt of
     * {@code length} tokens; {@code patterns} holds the pattern of every head of the layer. q and k are bf16
     * ({@code [length, numHeads, d]}, {@code [≥length, numKvHeads, d]}). The index lives in this builder's memory
     * and stays valid until its next build (closing it is allowed and frees nothing).
     */
    public DeviceSparseIndex build(CudaStream stream, List<HeadPattern> patterns, int firstHead, int heads,
                                   DevicePointer q, DevicePointer k, int length) {
        return build(stream, patterns, firstHead, heads, q, k, length, false, null);
    }

    /**
     * {@link #build}, recording {@code estimated} on the stream between the estimation (scores and selection) and
     * the index assembly, so that a benchmark can time the two apart.
     */
    public DeviceSparseIndex build(CudaStream stream, List<HeadPattern> patterns, int firstHead, int heads,
                                   DevicePointer q, DevicePointer k, int length, CudaEvent estimated) {
        return build(stream, patterns, firstHead, heads, q, k, length, false, estimated);
    }

    /** {@link #build}; with {@code poison}, the index's arrays are first filled with a pattern no kernel writes. */
    DeviceSparseIndex build(CudaStream stream, List<HeadPattern> patterns, int firstHead, int heads,
                            DevicePointer q, DevicePointer k, int length, boolean poison) {
        return build(stream, patterns, firstHead, heads, q, k, length, poison, null);
    }

    private DeviceSparseIndex build(CudaStream stream, List<HeadPattern> patterns, int firstHead, int heads,
                                    DevicePointer q, DevicePointer k, int length, boolean poison,
                                    CudaEvent estimated) {
        Estimate estimate = estimate(stream, patterns, firstHead, heads, q, k, length, estimated);
        return assemble(stream, estimate, 0, heads, poison);
    }

    /**
     * Estimates heads {@code [firstHead, firstHead + heads)} (as {@link #build}) and counts what each slot of their
     * index needs: waits for the stream to read the counts back. With {@code estimated} non-null, records it after
     * the scores and selection.
     */
    public Estimate estimate(CudaStream stream, List<HeadPattern> patterns, int firstHead, int heads,
                             DevicePointer q, DevicePointer k, int length, CudaEvent estimated) {
        int numHeads = shape.numHeads();
        if (patterns.size() != numHeads) {
            throw new IllegalArgumentException("the layer has " + numHeads + " heads but " + patterns.size()
                    + " patterns were given");
        }
        if (firstHead < 0 || heads < 1 || firstHead + heads > numHeads) {
            throw new IllegalArgumentException("heads [" + firstHead + ", " + (firstHead + heads)
                    + ") are not within the layer's " + numHeads + " heads");
        }
        if (length < 1 || length > IndexAssembly.MAX_LENGTH) {
            throw new IllegalArgumentException("sparse index building takes prompts of 1.." + IndexAssembly.MAX_LENGTH
                    + " tokens, got " + length);
        }
        HeadParameters encoded = HeadParameters.encode(patterns, firstHead, heads, length);
        int queryBlocks = SparseIndex.queryBlocks(length);
        int tiles = (length + VerticalSlashTile.COLUMNS - 1) / VerticalSlashTile.COLUMNS;
        boolean verticalSlash = encoded.any(HeadParameters.VERTICAL_SLASH);
        boolean blockSparse = encoded.any(HeadParameters.BLOCK_SPARSE);

        stream.synchronize();
        generation++;
        params = ensure(params, 4L * encoded.words().length);
        params.slice(0, 4L * encoded.words().length).copyFromHost(MemorySegment.ofArray(encoded.words()));
        scores = ensure(scores, 8L * heads * length);
        kept = ensure(kept, 8L * heads);
        diagonalRuns = ensure(diagonalRuns, 8L * heads * VerticalSlashRuns.stride(length));
        diagonalBits = ensure(diagonalBits, 4L * heads * VerticalSlashRuns.bitWords(length));
        runCounts = ensure(runCounts, 4L * heads);
        if (verticalSlash) {
            tileStats = ensure(tileStats, 8L * heads * tiles * VerticalSlashTile.ROWS);
            rowStats = ensure(rowStats, 8L * heads * VerticalSlashTile.ROWS);
            scores.slice(0, 8L * heads * length).fillIntsAsync(0, stream);
            diagonalBits.slice(0, 4L * heads * VerticalSlashRuns.bitWords(length)).fillIntsAsync(0, stream);
            LaunchShape tileGrid = new LaunchShape(heads, tiles, 1, VerticalSlashTile.COLUMNS, 1, 1);
            float scale = FlashAttention.log2Scale(shape.headDim());
            rowStatsTile.withShape(tileGrid).launch(stream, q, k, params, tileStats, rowStats, scores, firstHead,
                    numHeads, shape.numKvHeads(), length, scale);
            combine.withShape(LaunchShape.of(heads, VerticalSlashRowStats.THREADS)).launch(stream, params, tileStats,
                    rowStats, tiles, length);
            scoresTile.withShape(tileGrid).launch(stream, q, k, params, tileStats, rowStats, scores, firstHead,
                    numHeads, shape.numKvHeads(), length, scale);
            select.withShape(new LaunchShape(2, heads, 1, VerticalSlashSelect.THREADS, 1, 1)).launch(stream, params,
                    scores, kept, length);
            runs.withShape(LaunchShape.of(heads, VerticalSlashRuns.THREADS)).launch(stream, params, scores, kept,
                    diagonalRuns, runCounts, diagonalBits, length);
        }
        if (blockSparse) {
            long pooledRow = 4L * queryBlocks * shape.headDim();
            pooledQ = ensure(pooledQ, pooledRow * heads);
            pooledK = ensure(pooledK, pooledRow * shape.numKvHeads());
            pool.withShape(new LaunchShape(queryBlocks, heads + shape.numKvHeads(), 1, BlockPool.THREADS, 1, 1))
                    .launch(stream, q, k, params, pooledQ, pooledK, firstHead, numHeads, shape.numKvHeads(), length,
                            heads);
        }
        if (estimated != null) estimated.record(stream);
        int slots = heads * queryBlocks;
        needs = ensure(needs, 8L * slots);
        DeviceBuffer rangeNeeds = needs.slice(0, 4L * slots);
        DeviceBuffer columnNeeds = needs.slice(4L * slots, 4L * slots);
        long totalBytes = 4L * SlotOffsets.HEAD_WORDS * heads;
        headTotals = ensure(headTotals, totalBytes);
        headTotals.slice(0, totalBytes).fillIntsAsync(0, stream);
        count.withShape(new LaunchShape(queryBlocks, heads, 1, IndexAssembly.THREADS, 1, 1)).launch(stream, params,
                scores, kept, rangeNeeds, rangeNeeds, rangeNeeds, columnNeeds, columnNeeds, columnNeeds, diagonalRuns,
                runCounts, diagonalBits, headTotals, length, 0);
        // the heads' sums come back, not every slot's needs: SlotOffsets turns those into offsets on the device
        PinnedHostBuffer host = staging(totalBytes);
        headTotals.copyToHostAsync(host, 0, 0, totalBytes, stream);
        stream.synchronize();
        int[] totals = new int[SlotOffsets.HEAD_WORDS * heads];
        MemorySegment.copy(host.segment(), ValueLayout.JAVA_INT, 0, totals, 0, totals.length);
        return new Estimate(this, firstHead, heads, length, HeadNeeds.ofTotals(totals, heads), blockSparse,
                generation);
    }

    /**
     * Writes the compact index of estimated head slots {@code [from, from + count)} of {@code estimate} (the
     * builder's latest) into the builder's index memory, reserving each slot what the estimate counted. Waits for
     * the stream before reusing the memory; the index stays valid until the next assembly.
     */
    public DeviceSparseIndex assemble(CudaStream stream, Estimate estimate, int from, int count) {
        return assemble(stream, estimate, from, count, false);
    }

    private DeviceSparseIndex assemble(CudaStream stream, Estimate estimate, int from, int count, boolean poison) {
        if (estimate.owner != this || estimate.generation != generation) {
            throw new IllegalStateException("the estimate is not this builder's latest (its scratch holds another)");
        }
        if (from < 0 || count < 1 || from + count > estimate.heads) {
            throw new IllegalArgumentException("head slots [" + from + ", " + (from + count)
                    + ") are not within the estimate's " + estimate.heads);
        }
        int length = estimate.length;
        int queryBlocks = SparseIndex.queryBlocks(length);
        long rangeTotal = estimate.needs.ranges(from, count);
        long columnTotal = estimate.needs.columns(from, count);
        DeviceSparseIndex.requireTotals(rangeTotal, columnTotal);
        stream.synchronize();
        indexArena = ensure(indexArena, DeviceSparseIndex.bytes(count, length, rangeTotal, columnTotal));
        DeviceSparseIndex index = DeviceSparseIndex.view(indexArena, estimate.firstHead + from, count, length,
                rangeTotal, columnTotal);
        try {
            if (poison) {
                for (DeviceBuffer array : new DeviceBuffer[] {index.rangeCounts(), index.ranges(),
                        index.columnCounts(), index.columns()}) {
                    array.fillIntsAsync(POISON, stream);
                }
            }
            offsets.withShape(new LaunchShape(count, 2, 1, SlotOffsets.THREADS, 1, 1)).launch(stream, needs,
                    headTotals, index.rangeOffsets(), index.columnOffsets(), queryBlocks,
                    estimate.heads * queryBlocks, from);
            assembly.withShape(new LaunchShape(queryBlocks, count, 1, IndexAssembly.THREADS, 1, 1)).launch(stream,
                    params, scores, kept, index.rangeOffsets(), index.rangeCounts(), index.ranges(),
                    index.columnOffsets(), index.columnCounts(), index.columns(), diagonalRuns, runCounts, diagonalBits,
                    headTotals, length, from);
            if (estimate.blockSparse) {
                blockSelect(queryBlocks).withShape(new LaunchShape(queryBlocks, count, 1, BlockSparseSelect.THREADS,
                        1, 1)).launch(stream, params, pooledQ, pooledK, index.rangeOffsets(), index.rangeCounts(),
                        index.ranges(), index.columnCounts(), estimate.firstHead, shape.numHeads(),
                        shape.numKvHeads(), length, from, (float) (1.0 / Math.sqrt(shape.headDim())));
            }
        } catch (RuntimeException e) {
            index.close();
            throw e;
        }
        return index;
    }

    /**
     * The key tiles the sparse kernel will compute for each head of {@code index} ({@link IndexTiles}, the count
     * {@link SparseIndex#tiles(int)} gives on the host), by slot. Queued after the work that fills the index; waits
     * for the stream and reads the counts back.
     */
    public long[] tiles(CudaStream stream, DeviceSparseIndex index) {
        return counts(stream, index, false).tiles();
    }

    /**
     * Per head slot of an index: the key tiles the sparse kernel computes, and (when asked) the causal (query, key)
     * pairs it attends, or null.
     */
    public record HeadCounts(long[] tiles, long[] keys) {
    }

    /**
     * As {@link #tiles}, and with {@code keys} also the (query, key) pairs each head attends ({@link IndexKeys},
     * the count {@link io.minference.sparse.IndexDensity} makes on the host), counted on the device in the same
     * wait: a measuring prefill reads back a number per head, not the index.
     */
    public HeadCounts counts(CudaStream stream, DeviceSparseIndex index, boolean keys) {
        int heads = index.heads();
        headTiles = ensure(headTiles, 4L * heads);
        headTiles.slice(0, 4L * heads).fillIntsAsync(0, stream);
        countTiles.withShape(new LaunchShape(index.queryBlocks(), heads, 1, IndexTiles.THREADS, 1, 1)).launch(stream,
                index.rangeOffsets(), index.rangeCounts(), index.ranges(), index.columnCounts(), headTiles);
        if (keys) {
            if (countKeys == null) countKeys = context.kernel(new IndexKeys().emit(target), LaunchShape.of(1, 32));
            headKeys = ensure(headKeys, 8L * heads);
            headKeys.slice(0, 8L * heads).fillIntsAsync(0, stream);
            countKeys.withShape(new LaunchShape(index.queryBlocks(), heads, 1, IndexKeys.THREADS, 1, 1)).launch(
                    stream, index.rangeOffsets(), index.rangeCounts(), index.ranges(), index.columnOffsets(),
                    index.columnCounts(), index.columns(), headKeys, index.length());
        }
        stream.synchronize();
        int[] counts = new int[heads];
        headTiles.slice(0, 4L * heads).copyToHost(MemorySegment.ofArray(counts));
        long[] tiles = new long[heads];
        for (int h = 0; h < heads; h++) tiles[h] = Integer.toUnsignedLong(counts[h]);
        long[] attended = null;
        if (keys) {
            attended = new long[heads];
            headKeys.slice(0, 8L * heads).copyToHost(MemorySegment.ofArray(attended));
        }
        return new HeadCounts(tiles, attended);
    }

    /**
     * The kept columns (kind 0) or diagonals (kind 1) of vertical-slash slot {@code slot} of the last build, ascending,
     * as the selection left them in the scratch (waits for the stream's work first).
     */
    int[] keptList(CudaStream stream, int slot, int kind, int length) {
        stream.synchronize();
        int[] count = new int[1];
        kept.slice(4L * (2 * slot + kind), 4).copyToHost(MemorySegment.ofArray(count));
        int[] list = new int[count[0]];
        if (list.length > 0) {
            scores.slice(4L * (2L * slot + kind) * length, 4L * list.length).copyToHost(MemorySegment.ofArray(list));
        }
        return list;
    }

    /** The staging memory, grown to at least {@code bytes}; only called when no queued copy still uses it. */
    private PinnedHostBuffer staging(long bytes) {
        if (staging != null && staging.byteSize() >= bytes) return staging;
        if (staging != null) staging.close();
        staging = context.allocatePinned(Math.max(bytes, 4096));
        return staging;
    }

    private Kernel blockSelect(int queryBlocks) {
        BlockSparseSelect definition = BlockSparseSelect.forBlocks(shape.headDim(), queryBlocks);
        return blockSelects.computeIfAbsent(definition.maxBlocks(),
                blocks -> context.kernel(definition.emit(target), LaunchShape.of(1, 32)));
    }

    private DeviceBuffer ensure(DeviceBuffer buffer, long bytes) {
        if (buffer != null && buffer.byteSize() >= bytes) return buffer;
        if (buffer != null) buffer.close();
        return context.allocate(Math.max(bytes, 16));
    }

    @Override
    public void close() {
        for (DeviceBuffer buffer : new DeviceBuffer[] {params, scores, tileStats, rowStats, kept, diagonalRuns,
                runCounts, diagonalBits, headTotals, pooledQ, pooledK, headTiles, headKeys, needs, indexArena}) {
            if (buffer != null) buffer.close();
        }
        params = scores = tileStats = rowStats = kept = diagonalRuns = runCounts = diagonalBits = null;
        headTotals = pooledQ = pooledK = headTiles = null;
        headKeys = needs = indexArena = null;
        if (staging != null) staging.close();
        staging = null;
    }
}
