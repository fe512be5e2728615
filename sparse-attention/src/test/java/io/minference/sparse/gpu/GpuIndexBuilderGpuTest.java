package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.GpuTests;
import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.SparseIndex;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The GPU index builder against the float64 reference of docs/sparse-attention.md on the same bf16 inputs: fresh
 * random inputs per run (the seed is in every message), the index poisoned before the kernels write it, key rows
 * past the prompt set to NaN. Kept columns, diagonals and blocks may differ from the reference only at entries whose
 * reference score lies within 1e-3 relative of the last kept score; the index must then be exactly the one the doc's
 * rules build from the GPU's kept sets.
 */
@Tag("gpu")
class GpuIndexBuilderGpuTest {
    private static final double TOLERANCE = 1e-3;
    private static CudaBackend backend;

    @BeforeAll
    static void open() {
        backend = GpuTests.openOrSkip();
    }

    @AfterAll
    static void close() {
        if (backend != null) backend.close();
    }

    /** A mix of every built-in pattern and budget kind, cycled over the heads. */
    static final List<HeadPattern> MIX = List.of(
            HeadPattern.VerticalSlash.DEFAULT,
            new HeadPattern.VerticalSlash(Budget.topK(100), Budget.topK(500)),
            new HeadPattern.VerticalSlash(Budget.mass(0.95), Budget.mass(0.9)),
            new HeadPattern.AShape(100, 1000),
            new HeadPattern.BlockSparse(Budget.topK(8)),
            new HeadPattern.Dense(),
            new HeadPattern.VerticalSlash(Budget.topK(30), Budget.topK(800)),
            new HeadPattern.BlockSparse(Budget.mass(0.9)),
            new HeadPattern.AShape(0, 64),
            new HeadPattern.VerticalSlash(Budget.topK(3500), Budget.topK(100)),
            new HeadPattern.VerticalSlash(Budget.topK(10), Budget.topK(50)));

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        AttentionShape small = new AttentionShape(6, 2, 64);
        AttentionShape llama = new AttentionShape(32, 8, 128);
        for (int length : new int[] {1, 63, 64, 65, 1000, 4099, 16384}) {
            cases.add(Arguments.of(small, length, 0, 6, 0, true));
            cases.add(Arguments.of(small, length, 0, 6, 4, true));
        }
        for (int length : new int[] {65, 1000, 4099, 16384}) cases.add(Arguments.of(llama, length, 0, 32, 0, true));
        cases.add(Arguments.of(llama, 4099, 8, 16, 3, true));
        cases.add(Arguments.of(new AttentionShape(32, 8, 64), 4099, 0, 32, 1, true));
        cases.add(Arguments.of(new AttentionShape(6, 2, 128), 1000, 1, 4, 2, true));
        cases.add(Arguments.of(small, 4099, 0, 6, 0, false));
        cases.add(Arguments.of(llama, 1000, 0, 32, 0, false));
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}, L = {1}, heads {2}+{3}, patterns from {4}, tensor cores {5}")
    @MethodSource("cases")
    void indexMatchesTheFloat64Reference(AttentionShape shape, int length, int firstHead, int heads, int shift,
                                         boolean tensorCores) {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        List<HeadPattern> patterns = IntStream.range(0, shape.numHeads())
                .mapToObj(h -> MIX.get((h + shift) % MIX.size())).toList();
        short[] q = randomBf16(random, length * shape.queryDim(), 2.0);
        short[] k = randomBf16(random, length * shape.kvDim(), 1.0);
        check(shape, patterns, firstHead, heads, new ReferenceEstimation.Inputs(shape, length, q, k), tensorCores,
                "seed " + seed + " on " + backend.device().name());
    }

    @Test
    void equalScoresAreBrokenByTheLowerIndex() {
        AttentionShape shape = new AttentionShape(4, 2, 64);
        long seed = System.nanoTime();
        Random random = new Random(seed);
        int length = 250;
        short[] q = randomBf16(random, length * shape.queryDim(), 1.0);
        short[] k = sameRowEverywhere(random, length, shape);
        List<HeadPattern> patterns = List.of(new HeadPattern.VerticalSlash(Budget.topK(100), Budget.topK(120)),
                new HeadPattern.VerticalSlash(Budget.topK(10), Budget.topK(150)),
                new HeadPattern.VerticalSlash(Budget.topK(100), Budget.topK(120)),
                new HeadPattern.VerticalSlash(Budget.topK(186), Budget.topK(187)));
        try (GpuIndexBuilder builder = new GpuIndexBuilder(backend.context(), shape);
             DeviceBuffer qDevice = upload(q); DeviceBuffer kDevice = upload(k);
             DeviceSparseIndex index = builder.build(backend.stream(), patterns, 0, 4, qDevice, kDevice, length,
                     true)) {
            // Identical keys: every column up to L - 64 has the same score, and so has every diagonal from 0 to
            // L - 64; later ones have fewer rows and score less. One tile holds all columns, so the GPU's sums are
            // bitwise equal too, and the rule alone decides.
            int[][] expected = {{100, 120}, {10, 150}, {100, 120}, {186, 187}};
            for (int h = 0; h < 4; h++) {
                assertArrayEquals(IntStream.range(0, expected[h][0]).toArray(),
                        builder.keptList(backend.stream(), h, 0, length), "columns of head " + h + ", seed " + seed);
                assertArrayEquals(IntStream.range(0, expected[h][1]).toArray(),
                        builder.keptList(backend.stream(), h, 1, length), "diagonals of head " + h + ", seed " + seed);
            }
            check(shape, patterns, 0, 4, new ReferenceEstimation.Inputs(shape, length, q, k), true, "seed " + seed);
        }
        int blockLength = 64 * 40;
        short[] kBlocks = sameRowEverywhere(random, blockLength, shape);
        short[] qBlocks = randomBf16(random, blockLength * shape.queryDim(), 1.0);
        List<HeadPattern> blockPatterns = List.of(new HeadPattern.BlockSparse(Budget.topK(5)),
                new HeadPattern.BlockSparse(Budget.topK(1)), new HeadPattern.BlockSparse(Budget.topK(2)),
                new HeadPattern.BlockSparse(Budget.topK(40)));
        try (GpuIndexBuilder builder = new GpuIndexBuilder(backend.context(), shape);
             DeviceBuffer qDevice = upload(qBlocks); DeviceBuffer kDevice = upload(kBlocks);
             DeviceSparseIndex device = builder.build(backend.stream(), blockPatterns, 0, 4, qDevice, kDevice,
                     blockLength, true)) {
            backend.stream().synchronize();
            SparseIndex index = device.download();
            int[] budgets = {5, 1, 2, 40};
            for (int h = 0; h < 4; h++) {
                for (int b = 0; b < index.queryBlocks(); b++) {
                    // Every score is equal: the forced blocks 0 then b, then the lowest indices.
                    int keep = Math.min(budgets[h], b + 1);
                    TreeSet<Integer> expected = new TreeSet<>();
                    if (keep >= 1) expected.add(0);
                    if (keep >= 2) expected.add(b);
                    for (int c = 1; expected.size() < keep; c++) expected.add(c);
                    assertEquals(expected, keptBlocks(index, h, b), "blocks of head " + h + ", query block " + b
                            + ", seed " + seed);
                }
            }
        }
    }

    @Test
    void badArgumentsAreRejected() {
        AttentionShape shape = new AttentionShape(4, 2, 64);
        try (GpuIndexBuilder builder = new GpuIndexBuilder(backend.context(), shape);
             DeviceBuffer q = backend.context().allocate(2L * 64 * shape.queryDim());
             DeviceBuffer k = backend.context().allocate(2L * 64 * shape.kvDim())) {
            List<HeadPattern> four = List.of(new HeadPattern.Dense(), new HeadPattern.Dense(),
                    new HeadPattern.Dense(), new HeadPattern.Dense());
            var e = assertThrows(IllegalArgumentException.class,
                    () -> builder.build(backend.stream(), four.subList(0, 3), 0, 3, q, k, 64));
            assertTrue(e.getMessage().contains("4 heads"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> builder.build(backend.stream(), four, 2, 3, q, k, 64));
            assertThrows(IllegalArgumentException.class, () -> builder.build(backend.stream(), four, 0, 4, q, k, 0));
            List<HeadPattern> custom = List.of(new HeadPattern.Dense(), new HeadPattern.Custom("mine", Map.of()),
                    new HeadPattern.Dense(), new HeadPattern.Dense());
            e = assertThrows(IllegalArgumentException.class, () -> builder.build(backend.stream(), custom, 0, 4, q, k,
                    64));
            assertTrue(e.getMessage().contains("mine"), e.getMessage());
        }
    }

    private static void check(AttentionShape shape, List<HeadPattern> patterns, int firstHead, int heads,
                              ReferenceEstimation.Inputs inputs, boolean tensorCores, String context) {
        int length = inputs.length();
        try (GpuIndexBuilder builder = new GpuIndexBuilder(backend.context(), shape, tensorCores);
             DeviceBuffer q = upload(inputs.q());
             DeviceBuffer k = uploadWithNanTail(inputs.k(), shape.kvDim());
             DeviceSparseIndex device = builder.build(backend.stream(), patterns, firstHead, heads, q, k, length,
                     true)) {
            backend.stream().synchronize();
            SparseIndex gpu = device.download();
            for (int h = 0; h < heads; h++) {
                for (int b = 0; b < gpu.queryBlocks(); b++) {
                    int slot = h * gpu.queryBlocks() + b;
                    int ranges = gpu.rangeCountArray()[slot];
                    int columns = gpu.columnCountArray()[slot];
                    if (ranges < 0 || ranges > gpu.maxRanges() || columns < 0 || columns > gpu.maxColumns()) {
                        fail("head slot " + h + ", query block " + b + ": " + ranges + " ranges (room for "
                                + gpu.maxRanges() + "), " + columns + " columns (room for " + gpu.maxColumns()
                                + "), " + context);
                    }
                }
            }
            SparseIndex expected = new SparseIndex(firstHead, heads, length, gpu.maxRanges(), gpu.maxColumns());
            for (int h = 0; h < heads; h++) {
                int head = firstHead + h;
                String where = "head " + head + " (" + patterns.get(head) + "), L = " + length + ", " + context;
                switch (patterns.get(head)) {
                    case HeadPattern.Dense d -> ReferenceEstimation.denseIndex(expected, h);
                    case HeadPattern.AShape a -> ReferenceEstimation.aShapeIndex(expected, h, a.sinkTokens(),
                            a.localTokens());
                    case HeadPattern.VerticalSlash vs -> {
                        double[][] scores = ReferenceEstimation.verticalSlashScores(inputs, head);
                        int n = Math.min(64, length);
                        var columns = ReferenceEstimation.select(scores[0],
                                ReferenceEstimation.forcedBelow(length, ReferenceEstimation.FORCED_COLUMNS),
                                vs.vertical(), n);
                        var diagonals = ReferenceEstimation.select(scores[1],
                                ReferenceEstimation.forcedBelow(length, ReferenceEstimation.FORCED_DIAGONALS),
                                vs.slash(), n);
                        int[] gpuColumns = builder.keptList(backend.stream(), h, 0, length);
                        int[] gpuDiagonals = builder.keptList(backend.stream(), h, 1, length);
                        assertAgrees(columns, gpuColumns, vs.vertical(), "columns of " + where);
                        assertAgrees(diagonals, gpuDiagonals, vs.slash(), "diagonals of " + where);
                        ReferenceEstimation.verticalSlashIndex(expected, h, gpuColumns, gpuDiagonals);
                    }
                    case HeadPattern.BlockSparse bs -> {
                        double[][] scores = ReferenceEstimation.blockScores(inputs, head);
                        for (int b = 0; b < gpu.queryBlocks(); b++) {
                            var selection = ReferenceEstimation.blockSelect(scores[b], bs.blocks());
                            int[] kept = keptBlocks(gpu, h, b).stream().mapToInt(Integer::intValue).toArray();
                            assertAgrees(selection, kept, bs.blocks(), "blocks of query block " + b + " of " + where);
                            boolean[] marked = new boolean[b + 1];
                            for (int c : kept) marked[c] = true;
                            ReferenceEstimation.addRuns(expected, h, b, marked);
                        }
                    }
                    case HeadPattern.Custom c -> fail("no custom patterns here");
                }
            }
            for (int h = 0; h < heads; h++) {
                for (int b = 0; b < gpu.queryBlocks(); b++) {
                    int hh = h;
                    int bb = b;
                    assertEquals(describe(expected, h, b), describe(gpu, h, b), () -> "head slot " + hh
                            + ", query block " + bb + " (" + patterns.get(firstHead + hh) + "), L = " + length
                            + ", " + context);
                }
            }
            assertTrue(expected.sameKeys(gpu), context);
            // The same heads assembled in pieces from one estimate (the model's head batches) give the same slots.
            GpuIndexBuilder.Estimate estimate = builder.estimate(backend.stream(), patterns, firstHead, heads, q, k,
                    length, null);
            for (int from = 0; from < heads; ) {
                int count = Math.min(heads - from, 1 + from % 3);
                try (DeviceSparseIndex piece = builder.assemble(backend.stream(), estimate, from, count)) {
                    backend.stream().synchronize();
                    SparseIndex part = piece.download();
                    assertEquals(firstHead + from, part.firstHead());
                    for (int h = 0; h < count; h++) {
                        for (int b = 0; b < gpu.queryBlocks(); b++) {
                            assertEquals(describe(gpu, from + h, b), describe(part, h, b), "head slot " + (from + h)
                                    + " assembled in a batch from " + from + ", query block " + b + ", " + context);
                        }
                    }
                }
                from += count;
            }
        }
    }

    /** Kept sets may differ only where the reference score is within tolerance of the last kept score. */
    private static void assertAgrees(ReferenceEstimation.Selection reference, int[] gpu, Budget budget, String what) {
        for (int i = 1; i < gpu.length; i++) {
            if (gpu[i] <= gpu[i - 1]) fail(what + ": the GPU's kept list is not ascending: " + Arrays.toString(gpu));
        }
        if (budget instanceof Budget.TopK) {
            assertEquals(reference.kept().length, gpu.length, () -> what + ": kept count");
        }
        TreeSet<Integer> difference = new TreeSet<>();
        Arrays.stream(reference.kept()).forEach(difference::add);
        for (int j : gpu) {
            if (!difference.remove(j)) difference.add(j);
        }
        double last = reference.lastKept();
        for (int j : difference) {
            double score = reference.scores()[j];
            boolean near = !reference.forced()[j]
                    && Math.abs(score - last) <= TOLERANCE * Math.max(Math.abs(score), 1e-6);
            if (!near) {
                fail(what + ": entry " + j + " (score " + score + (reference.forced()[j] ? ", forced" : "")
                        + ") is kept by only one side; the last kept score is " + last + "; reference "
                        + summary(reference.kept()) + ", GPU " + summary(gpu));
            }
        }
    }

    private static String summary(int[] kept) {
        return kept.length + " kept " + Arrays.toString(Arrays.copyOf(kept, Math.min(kept.length, 40)));
    }

    private static TreeSet<Integer> keptBlocks(SparseIndex index, int h, int b) {
        TreeSet<Integer> blocks = new TreeSet<>();
        for (int r = 0; r < index.rangeCount(h, b); r++) {
            for (int c = index.rangeStart(h, b, r) / 64; c <= (index.rangeEnd(h, b, r) - 1) / 64; c++) {
                blocks.add(c);
            }
        }
        return blocks;
    }

    private static String describe(SparseIndex index, int h, int b) {
        StringBuilder text = new StringBuilder("ranges");
        for (int r = 0; r < index.rangeCount(h, b); r++) {
            text.append(" [").append(index.rangeStart(h, b, r)).append(", ").append(index.rangeEnd(h, b, r))
                    .append(')');
        }
        text.append(", columns");
        for (int c = 0; c < index.columnCount(h, b); c++) text.append(' ').append(index.column(h, b, c));
        return text.toString();
    }

    private static short[] randomBf16(Random random, int count, double scale) {
        short[] values = new short[count];
        for (int i = 0; i < count; i++) values[i] = BFloat16.fromFloat((float) (random.nextGaussian() * scale));
        return values;
    }

    /** Keys whose rows are all one random row, per KV head. */
    private static short[] sameRowEverywhere(Random random, int length, AttentionShape shape) {
        short[] row = randomBf16(random, shape.kvDim(), 1.0);
        short[] keys = new short[length * shape.kvDim()];
        for (int j = 0; j < length; j++) System.arraycopy(row, 0, keys, j * row.length, row.length);
        return keys;
    }

    private static DeviceBuffer upload(short[] values) {
        DeviceBuffer buffer = backend.context().allocate(2L * Math.max(values.length, 8));
        buffer.slice(0, 2L * values.length).copyFromHost(MemorySegment.ofArray(values));
        return buffer;
    }

    /** The keys followed by 64 rows of NaN, which no estimation may read. */
    private static DeviceBuffer uploadWithNanTail(short[] values, int rowLength) {
        short[] padded = Arrays.copyOf(values, values.length + 64 * rowLength);
        Arrays.fill(padded, values.length, padded.length, (short) 0xFFFF);
        return upload(padded);
    }
}
