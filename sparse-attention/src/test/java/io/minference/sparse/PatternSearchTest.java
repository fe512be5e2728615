package io.minference.sparse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.sparse.synthetic.SyntheticAttention;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PatternSearchTest {
    @Test
    void candidatesHaveAboutEqualCost() {
        var candidates = PatternSearch.candidates(1024);
        assertEquals(7, candidates.size());
        assertEquals(new HeadPattern.VerticalSlash(Budget.topK(143), Budget.topK(881)), candidates.get(0));
        assertEquals(new HeadPattern.AShape(64, 960), candidates.get(5));
        assertEquals(new HeadPattern.BlockSparse(Budget.topK(16)), candidates.get(6));
        assertThrows(IllegalArgumentException.class, () -> PatternSearch.candidates(100));
        assertEquals(256, PatternSearch.defaultTarget(1000));
        assertEquals(7096, PatternSearch.defaultTarget(1 << 20));
    }

    @Test
    void aHeadAttendingScatteredColumnsGetsAColumnHeavyVerticalSlash() {
        // every query attends 40 far-apart key columns strongly: only budgets with room for them keep the mass
        int length = 4096;
        AttentionShape shape = new AttentionShape(2, 1, 8);
        SplittableRandom random = new SplittableRandom(5);
        try (Tensor q = Tensor.allocate(DType.F32, length, 16); Tensor k = Tensor.allocate(DType.F32, length, 8)) {
            for (int i = 0; i < length; i++) {
                for (int h = 0; h < 2; h++) q.setFloat(i * 16L + h * 8, (float) Math.sqrt(8));
                for (int x = 1; x < 8; x++) k.setFloat(i * 8L + x, (float) random.nextGaussian());
            }
            for (int n = 0; n < 40; n++) k.setFloat((64 + random.nextInt(length - 64)) * 8L, 12f);
            var choices = PatternSearch.searchLayer(shape, q, k, length, 256);
            for (var choice : choices) {
                var vs = assertInstanceOf(HeadPattern.VerticalSlash.class, choice.pattern());
                assertTrue(((Budget.TopK) vs.vertical()).count() >= 70, choice.toString());
                for (double r : choice.candidateRecalls()) assertTrue(r <= choice.recall());
                assertTrue(choice.recall() > 0.95, "recall " + choice.recall());
            }
        }
    }

    @Test
    void structuredSyntheticHeadsFindHighRecallPatterns() {
        AttentionShape shape = new AttentionShape(2, 1, 64);
        int length = 1024;
        try (var sample = SyntheticAttention.structured(shape, length, 9)) {
            var patterns = PatternSearch.searchLayer(shape, sample.queries(), sample.keys(), length);
            assertEquals(2, patterns.size());
            var accuracy = HeadAccuracy.measure(shape, sample.queries(), sample.keys(), sample.values(), length, patterns);
            for (var r : accuracy) assertTrue(r.recall() > 0.9, r.toString());
        }
    }
}
