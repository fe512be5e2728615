package io.minference.sparse.synthetic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.kernels.attention.AttentionShape;
import io.minference.sparse.Budget;
import io.minference.sparse.HeadAccuracy;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SyntheticAttentionTest {
    private static final AttentionShape SHAPE = new AttentionShape(4, 2, 64);
    private static final HeadPattern SMALL = new HeadPattern.VerticalSlash(Budget.topK(64), Budget.topK(104));

    @Test
    void smallVerticalSlashBudgetKeepsTheStructuredMassButNotRandomMass() {
        int length = 2048;
        List<HeadPattern> patterns = PatternPlan.uniform(1, 4, SMALL).layers().get(0);
        try (var structured = SyntheticAttention.structured(SHAPE, length, 42);
             var random = SyntheticAttention.random(SHAPE, length, 42)) {
            var onStructure = HeadAccuracy.measure(SHAPE, structured.queries(), structured.keys(), structured.values(),
                    length, patterns);
            var onNoise = HeadAccuracy.measure(SHAPE, random.queries(), random.keys(), random.values(), length, patterns);
            for (int h = 0; h < 4; h++) {
                HeadAccuracy.Result s = onStructure.get(h), r = onNoise.get(h);
                // the random heads even get more keys (their scattered diagonals touch more blocks)
                assertTrue(s.density() < 0.35 && s.density() <= r.density(), s + " vs " + r);
                assertTrue(s.recall() > 0.9, s.toString());
                assertTrue(r.recall() < 0.6, r.toString());
            }
        }
    }

    @Test
    void ropeInputsAreLocalWithSinksAndBetweenTheStructuredAndTheRandomCase() {
        int length = 2048;
        List<HeadPattern> patterns = PatternPlan.uniform(1, 4, SMALL).layers().get(0);
        try (var rope = SyntheticAttention.rope(SHAPE, length, 42);
             var random = SyntheticAttention.random(SHAPE, length, 42)) {
            var onRope = HeadAccuracy.measure(SHAPE, rope.queries(), rope.keys(), rope.values(), length, patterns);
            var onNoise = HeadAccuracy.measure(SHAPE, random.queries(), random.keys(), random.values(), length,
                    patterns);
            for (int h = 0; h < 4; h++) {
                HeadAccuracy.Result s = onRope.get(h), r = onNoise.get(h);
                System.out.println("rope head " + h + ": " + s + "; random: " + r);
                assertTrue(s.recall() > r.recall() + 0.2, s + " vs " + r);
            }
        }
    }

    @Test
    void sameSeedSameTensors() {
        try (var a = SyntheticAttention.structured(SHAPE, 100, 7); var b = SyntheticAttention.structured(SHAPE, 100, 7);
             var c = SyntheticAttention.structured(SHAPE, 100, 8)) {
            float[] qa = a.queries().toFloatArray(), qb = b.queries().toFloatArray();
            assertEquals(Arrays.hashCode(qa), Arrays.hashCode(qb));
            assertEquals(Arrays.hashCode(a.keys().toFloatArray()), Arrays.hashCode(b.keys().toFloatArray()));
            assertTrue(Arrays.hashCode(a.keys().toFloatArray()) != Arrays.hashCode(c.keys().toFloatArray()));
        }
    }

    @Test
    void refusesBadParameters() {
        assertThrows(IllegalArgumentException.class, () -> new SyntheticAttention.Parameters(-1, 0, 0, 1, 1));
        assertThrows(IllegalArgumentException.class,
                () -> SyntheticAttention.structured(new AttentionShape(1, 1, 4), 10, 1));
    }
}
