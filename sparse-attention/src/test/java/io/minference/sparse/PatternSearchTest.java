package io.minference.sparse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.sparse.PatternSearch.Candidates;
import io.minference.sparse.PatternSearch.Criterion;
import io.minference.sparse.PatternSearch.Measured;
import io.minference.sparse.PatternSearch.Settings;
import io.minference.sparse.synthetic.SyntheticAttention;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PatternSearchTest {
    private static final AttentionShape SHAPE = new AttentionShape(2, 1, 64);

    @Test
    void candidatesAreMeasuredByTheTilesOfTheIndexBuilt() {
        int length = 2048, target = 256;
        try (var sample = SyntheticAttention.structured(SHAPE, length, 9)) {
            var choices = PatternSearch.searchLayer(SHAPE, sample.queries(), sample.keys(), sample.values(), length,
                    new Settings(Candidates.EQUAL_COST, target, Criterion.RECALL, 1));
            for (var choice : choices) {
                assertEquals(7, choice.candidates().size());
                // The a-shape candidate (64 sink, 192 local) by hand: per query block b, the sink block plus the
                // blocks from the one holding 64b - 191 to b.
                Measured aShape = choice.candidates().get(5);
                assertEquals(new HeadPattern.AShape(64, 192), aShape.pattern());
                long tiles = 0;
                for (int b = 0; b < length / 64; b++) {
                    int first = Math.max(0, 64 * b - 191) / 64;
                    tiles += b - first + 1 + (first > 0 ? 1 : 0);
                }
                assertEquals(tiles, aShape.cost().tiles(), choice.toString());
                assertEquals(32L * 33 / 2, aShape.cost().denseTiles());
                for (Measured m : choice.candidates()) {
                    assertTrue(m.cost().tiles() > 0 && m.cost().tiles() <= m.cost().denseTiles(), m.toString());
                    assertTrue(m.cost().density() > 0 && m.cost().density() <= 1, m.toString());
                    assertTrue(m.recall() <= choice.chosen().recall(), "chosen by recall: " + choice);
                }
            }
        }
    }

    @Test
    void aTileBudgetExcludesCandidatesThatCostMore() {
        int length = 2048;
        try (var sample = SyntheticAttention.structured(SHAPE, length, 9)) {
            var open = PatternSearch.searchLayer(SHAPE, sample.queries(), sample.keys(), sample.values(), length,
                    new Settings(Candidates.MINFERENCE, 0, Criterion.OUTPUT_ERROR, 1));
            long dense = IndexCost.denseTiles(length);
            long cheapest = Long.MAX_VALUE;
            for (var choice : open) {
                var all = choice.candidates();
                // At 2K, 1000/4096 keeps every key: every tile, no output error.
                Measured wide = all.get(6);
                assertEquals(new HeadPattern.VerticalSlash(Budget.topK(1000), Budget.topK(4096)), wide.pattern());
                assertEquals(dense, wide.cost().tiles(), wide.toString());
                assertEquals(0, wide.outputErrors(), wide.toString());
                assertEquals(0, choice.chosen().outputErrors(), choice.toString());
                for (Measured m : all) cheapest = Math.min(cheapest, m.cost().tiles());
            }
            assertTrue(cheapest < dense, "some candidate is sparse at 2K");
            // A budget that only the cheapest candidates fit: the choice costs no more, and none that fits is better.
            double budget = (cheapest + 0.5) / dense;
            var bounded = PatternSearch.searchLayer(SHAPE, sample.queries(), sample.keys(), sample.values(), length,
                    new Settings(Candidates.MINFERENCE, 0, Criterion.OUTPUT_ERROR, budget));
            for (var choice : bounded) {
                Measured chosen = choice.chosen();
                long fewestTiles = choice.candidates().stream().mapToLong(m -> m.cost().tiles()).min().orElseThrow();
                assertEquals(fewestTiles, chosen.cost().tiles(), choice.toString());
                for (Measured m : choice.candidates()) {
                    if (m.cost().tiles() <= cheapest) assertTrue(m.outputErrors() >= chosen.outputErrors(), m + "");
                }
                assertTrue(chosen.outputErrors() > 0, "at the fewest tiles something is lost: " + chosen);
            }
        }
    }

    @Test
    void outputErrorsCountElementsOffByMoreThanTheTolerance() {
        AttentionShape shape = new AttentionShape(1, 1, 4);
        try (Tensor dense = Tensor.allocate(DType.F32, 3, 4); Tensor sparse = Tensor.allocate(DType.F32, 3, 4)) {
            float[] offsets = {0, 4e-3f, 6e-3f, -6e-3f, 0, 0, 1, 0, 0, 0, 0, Float.NaN};
            for (int i = 0; i < 12; i++) {
                dense.setFloat(i, 0.5f);
                sparse.setFloat(i, 0.5f + offsets[i]);
            }
            assertEquals(4, HeadAccuracy.outputErrors(shape, dense, sparse, 0, 3, PatternSearch.OUTPUT_TOLERANCE));
        }
    }

    @Test
    void theChoiceBreaksTiesByTilesThenOrderAndFallsBackToTheCheapest() {
        IndexCost cheap = new IndexCost(10, 100, 2, 10), dear = new IndexCost(50, 100, 8, 10);
        var a = new Measured(new HeadPattern.AShape(0, 1), dear, 0.9, 5);
        var b = new Measured(new HeadPattern.Dense(), cheap, 0.9, 5);
        var c = new Measured(new HeadPattern.AShape(1, 1), cheap, 0.9, 5);
        assertEquals(b, PatternSearch.choose(List.of(a, b, c), Criterion.RECALL, 10));
        assertEquals(b, PatternSearch.choose(List.of(a, b, c), Criterion.OUTPUT_ERROR, 10));
        var better = new Measured(new HeadPattern.Dense(), dear, 0.95, 1);
        assertEquals(better, PatternSearch.choose(List.of(a, b, better), Criterion.RECALL, 10));
        assertEquals(b, PatternSearch.choose(List.of(a, b, better), Criterion.RECALL, 5), "over the budget");
        assertEquals(b, PatternSearch.choose(List.of(a, b), Criterion.RECALL, 1), "none fits: the cheapest");
        assertThrows(IllegalArgumentException.class, () -> new Settings(Candidates.MINFERENCE, 0, Criterion.RECALL, 0));
    }

    @Test
    void minferenceCandidatesAreThoseOfItsSearch() {
        // minference/modules/minference_forward.py, search_pattern_v2: stream_llm (100, 800); vertical_and_slash
        // (30, 800), (100, 800), (100, 750), (500, 700), (3500, 100), (1000, 4096); block_sparse (top 100 blocks)
        var candidates = PatternSearch.minferenceCandidates();
        assertEquals(8, candidates.size());
        assertEquals(new HeadPattern.AShape(100, 800), candidates.getFirst());
        assertEquals(new HeadPattern.VerticalSlash(Budget.topK(3500), Budget.topK(100)), candidates.get(5));
        assertEquals(new HeadPattern.BlockSparse(Budget.topK(100)), candidates.getLast());
        assertEquals(256, PatternSearch.defaultTarget(1000));
        assertEquals(7096, PatternSearch.defaultTarget(1 << 20));
        assertThrows(IllegalArgumentException.class, () -> PatternSearch.candidates(100));
    }

    @Test
    void aHeadAttendingScatteredColumnsGetsAColumnHeavyVerticalSlash() {
        // every query attends 40 far-apart key columns strongly: only budgets with room for them keep the mass
        int length = 4096;
        AttentionShape shape = new AttentionShape(2, 1, 8);
        SplittableRandom random = new SplittableRandom(5);
        try (Tensor q = Tensor.allocate(DType.F32, length, 16); Tensor k = Tensor.allocate(DType.F32, length, 8);
             Tensor v = TestTensors.random(random, 1, length, 8)) {
            for (int i = 0; i < length; i++) {
                for (int h = 0; h < 2; h++) q.setFloat(i * 16L + h * 8, (float) Math.sqrt(8));
                for (int x = 1; x < 8; x++) k.setFloat(i * 8L + x, (float) random.nextGaussian());
            }
            for (int n = 0; n < 40; n++) k.setFloat((64 + random.nextInt(length - 64)) * 8L, 12f);
            var choices = PatternSearch.searchLayer(shape, q, k, v, length,
                    new Settings(Candidates.EQUAL_COST, 256, Criterion.RECALL, 1));
            for (var choice : choices) {
                var vs = assertInstanceOf(HeadPattern.VerticalSlash.class, choice.pattern());
                assertTrue(((Budget.TopK) vs.vertical()).count() >= 70, choice.toString());
                assertTrue(choice.chosen().recall() > 0.95, "recall " + choice.chosen().recall());
            }
        }
    }

    @Test
    void structuredSyntheticHeadsFindHighRecallPatterns() {
        int length = 1024;
        try (var sample = SyntheticAttention.structured(SHAPE, length, 9)) {
            var patterns = PatternSearch.searchLayer(SHAPE, sample.queries(), sample.keys(), sample.values(), length,
                    Settings.defaults(length)).stream().map(PatternSearch.Choice::pattern).toList();
            assertEquals(2, patterns.size());
            var accuracy = HeadAccuracy.measure(SHAPE, sample.queries(), sample.keys(), sample.values(), length,
                    patterns);
            for (var r : accuracy) assertTrue(r.recall() > 0.9, r.toString());
        }
    }
}
