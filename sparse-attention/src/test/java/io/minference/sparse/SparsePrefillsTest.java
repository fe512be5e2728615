package io.minference.sparse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.attention.CpuCausalAttention;
import io.minference.kernels.attention.PromptAttention;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.pattern.AShapePattern;
import io.minference.sparse.pattern.DensePattern;
import io.minference.sparse.pattern.IndexCapacity;
import io.minference.sparse.pattern.PatternRegistry;
import io.minference.sparse.pattern.VerticalSlashIndex;
import io.minference.sparse.pattern.VerticalSlashPattern;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SparsePrefillsTest {
    private static CpuBackend backend;
    private final SplittableRandom random = TestTensors.seededRandom(SparsePrefillsTest.class);

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    @Test
    void budgetsCoveringEverythingGiveDenseAttention() {
        for (AttentionShape shape : new AttentionShape[] {new AttentionShape(6, 2, 64), new AttentionShape(4, 4, 16)}) {
            for (int length : new int[] {1, 63, 64, 65, 200, 1000}) {
                int blocks = SparseIndex.queryBlocks(length);
                List<HeadPattern> heads = new ArrayList<>();
                for (int h = 0; h < shape.numHeads(); h++) {
                    heads.add(switch (h % 4) {
                        case 0 -> new HeadPattern.VerticalSlash(Budget.topK(length), Budget.topK(length));
                        case 1 -> new HeadPattern.BlockSparse(Budget.topK(blocks));
                        case 2 -> new HeadPattern.AShape(0, length);
                        default -> new HeadPattern.Dense();
                    });
                }
                PatternPlan plan = new PatternPlan(List.of(heads));
                try (Tensor q = TestTensors.random(random, 3, length, shape.queryDim());
                     Tensor k = TestTensors.random(random, 3, length, shape.kvDim());
                     Tensor v = TestTensors.random(random, 1, length, shape.kvDim());
                     Tensor sparse = TestTensors.poisoned(length, shape.queryDim());
                     Tensor dense = TestTensors.poisoned(length, shape.queryDim())) {
                    SparsePrefills.cpu(plan, backend).attend(0, shape, q, k, v, sparse, length);
                    PromptAttention.dense(new CpuCausalAttention(backend), 256).attend(0, shape, q, k, v, dense, length);
                    CpuSparseAttentionTest.assertClose(dense, sparse, 2e-5, shape + " length " + length);
                }
            }
        }
    }

    @Test
    void smallIndexBatchesGiveTheSameOutput() {
        AttentionShape shape = new AttentionShape(6, 2, 32);
        int length = 700;
        PatternPlan plan = PatternPlan.uniform(1, 6, new HeadPattern.VerticalSlash(Budget.topK(50), Budget.topK(150)));
        try (Tensor q = TestTensors.random(random, 3, length, shape.queryDim());
             Tensor k = TestTensors.random(random, 3, length, shape.kvDim());
             Tensor v = TestTensors.random(random, 1, length, shape.kvDim());
             Tensor whole = TestTensors.poisoned(length, shape.queryDim());
             Tensor batched = TestTensors.poisoned(length, shape.queryDim())) {
            new CpuSparsePrefill(plan, backend, PatternRegistry.builtIn(), DenseFallback.NEVER)
                    .attend(0, shape, q, k, v, whole, length);
            new CpuSparsePrefill(plan, backend, PatternRegistry.builtIn(), DenseFallback.NEVER, 1)
                    .attend(0, shape, q, k, v, batched, length);
            // equal up to the vector exp's last bit, which differs between interpreted and compiled code
            CpuSparseAttentionTest.assertClose(whole, batched, 1e-6, "one head per batch");
        }
    }

    @Test
    void headsWhoseIndexIsTooDenseRunDenseAndTheOthersStaySparse() {
        AttentionShape shape = new AttentionShape(4, 2, 32);
        int length = 640;   // 10 query blocks, 55 causal tiles
        // heads 0, 2: a 64-key window, two key blocks (19 tiles, share 0.35); heads 1, 3: a sink block plus a
        // 300-key window (49 tiles, share 0.89)
        HeadPattern narrow = new HeadPattern.AShape(0, 64);
        HeadPattern wide = new HeadPattern.AShape(8, 300);
        PatternPlan plan = new PatternPlan(List.of(List.of(narrow, wide, narrow, wide)));
        try (Tensor q = TestTensors.random(random, 3, length, shape.queryDim());
             Tensor k = TestTensors.random(random, 3, length, shape.kvDim());
             Tensor v = TestTensors.random(random, 1, length, shape.kvDim());
             Tensor out = TestTensors.poisoned(length, shape.queryDim())) {
            SparsePrefills.cpu(plan, backend, PatternRegistry.builtIn(), new DenseFallback(0.5))
                    .attend(0, shape, q, k, v, out, length);
            SparseIndex expected = new SparseIndex(0, 4, length, 2, 0);
            for (int h = 0; h < 4; h++) {
                (h % 2 == 0 ? AShapePattern.index((HeadPattern.AShape) narrow) : DensePattern.index())
                        .writeTo(expected, h);
            }
            assertEquals(19, expected.tiles(0));
            double error = TestTensors.relativeError(shape, q, k, v, out, expected);
            assertTrue(error < 1e-5, "narrow heads sparse, wide heads dense: relative error " + error);
        }
        SparseIndex wideIndex = new SparseIndex(0, 1, length, 2, 0);
        AShapePattern.index((HeadPattern.AShape) wide).writeTo(wideIndex, 0);
        assertEquals(49, wideIndex.tiles(0));
        assertTrue(new DenseFallback(0.89).runsDense(49, length));
        assertTrue(!new DenseFallback(0.891).runsDense(49, length), "49 of 55 is 0.8909");
        assertTrue(!DenseFallback.NEVER.runsDense(Long.MAX_VALUE, length));
        assertTrue(new DenseFallback(0).runsDense(1, length));
        assertThrows(IllegalArgumentException.class, () -> new DenseFallback(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> new DenseFallback(-0.1));
        String before = System.getProperty(DenseFallback.PROPERTY);
        try {
            System.clearProperty(DenseFallback.PROPERTY);
            assertEquals(DenseFallback.DEFAULT, DenseFallback.configured());
            System.setProperty(DenseFallback.PROPERTY, " 0.8 ");
            assertEquals(new DenseFallback(0.8), DenseFallback.configured());
            System.setProperty(DenseFallback.PROPERTY, "never");
            assertEquals(DenseFallback.NEVER, DenseFallback.configured());
            System.setProperty(DenseFallback.PROPERTY, "most");
            var e = assertThrows(IllegalArgumentException.class, DenseFallback::configured);
            assertTrue(e.getMessage().contains(DenseFallback.PROPERTY) && e.getMessage().contains("'most'"),
                    e.getMessage());
        } finally {
            if (before == null) System.clearProperty(DenseFallback.PROPERTY);
            else System.setProperty(DenseFallback.PROPERTY, before);
        }
    }

    @Test
    void aPatternFromTheServiceLoaderRunsWithoutModelChanges() {
        AttentionShape shape = new AttentionShape(4, 2, 16);
        int length = 300;
        PatternPlan plan = PatternPlan.uniform(2, 4, new HeadPattern.Custom("local-only", Map.of("window", "1")));
        try (Tensor q = TestTensors.random(random, 3, length, shape.queryDim());
             Tensor k = TestTensors.random(random, 3, length, shape.kvDim());
             Tensor v = TestTensors.random(random, 1, length, shape.kvDim());
             Tensor out = TestTensors.poisoned(length, shape.queryDim())) {
            SparsePrefills.cpu(plan, backend).attend(1, shape, q, k, v, out, length);
            SparseIndex expected = new SparseIndex(0, 4, length, 1, 0);
            for (int h = 0; h < 4; h++) {
                for (int b = 0; b < expected.queryBlocks(); b++) {
                    expected.addRange(h, b, Math.max(0, b - 1) * 64, expected.blockEnd(b));
                }
            }
            assertTrue(TestTensors.relativeError(shape, q, k, v, out, expected) < 1e-5);
        }
    }

    @Test
    void massBudgetGrowsWithGamma() {
        AttentionShape shape = new AttentionShape(2, 1, 32);
        int length = 1500;
        try (Tensor q = TestTensors.random(random, 4, length, shape.queryDim());
             Tensor k = TestTensors.random(random, 4, length, shape.kvDim())) {
            LayerInputs inputs = new LayerInputs(shape, q, k, length);
            long previous = 0;
            VerticalSlashIndex previousIndex = null;
            for (double gamma : new double[] {0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0}) {
                var pattern = new HeadPattern.VerticalSlash(Budget.mass(gamma), Budget.mass(gamma));
                var selection = (VerticalSlashIndex) new VerticalSlashPattern().estimate(pattern, inputs, 1);
                IndexCapacity c = selection.capacity();
                SparseIndex index = new SparseIndex(1, 1, length, c.maxRanges(), c.maxColumns());
                selection.writeTo(index, 0);
                long attended = 0;
                for (int i = 0; i < length; i++) attended += index.keysAttended(0, i);
                assertTrue(attended >= previous, "gamma " + gamma + ": " + attended + " < " + previous);
                if (previousIndex != null) {
                    assertTrue(selection.columns().length >= previousIndex.columns().length);
                    assertTrue(selection.diagonals().length >= previousIndex.diagonals().length);
                }
                previous = attended;
                previousIndex = selection;
            }
        }
    }

    @Test
    void plansThatDoNotFitAreRefused() {
        AttentionShape shape = new AttentionShape(4, 2, 16);
        try (Tensor q = TestTensors.random(random, 1, 10, 64); Tensor k = TestTensors.random(random, 1, 10, 32);
             Tensor out = TestTensors.poisoned(10, 64)) {
            PromptAttention three = SparsePrefills.cpu(PatternPlan.uniform(1, 3, new HeadPattern.Dense()), backend);
            var e = assertThrows(IllegalArgumentException.class, () -> three.attend(0, shape, q, k, k, out, 10));
            assertEquals("layer 0 of the pattern plan has 3 heads, the model 4", e.getMessage());
            PromptAttention one = SparsePrefills.cpu(PatternPlan.uniform(1, 4, new HeadPattern.Dense()), backend);
            assertThrows(IllegalArgumentException.class, () -> one.attend(1, shape, q, k, k, out, 10));
        }
        var unknown = assertThrows(IllegalArgumentException.class, () -> SparsePrefills.cpu(
                PatternPlan.uniform(1, 2, new HeadPattern.Custom("zigzag", Map.of())), backend));
        assertTrue(unknown.getMessage().contains("unknown sparse pattern 'zigzag'"), unknown.getMessage());
    }
}
