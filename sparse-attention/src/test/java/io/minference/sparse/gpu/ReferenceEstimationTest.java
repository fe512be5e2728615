package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.cuda.BFloat16;
import io.minference.sparse.Budget;
import io.minference.sparse.SparseIndex;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The test reference itself, on cases small enough to work out by hand. */
class ReferenceEstimationTest {
    @Test
    void topKKeepsForcedFirstThenHigherScoresThenLowerIndices() {
        double[] scores = {0.1, 0.5, 0.2, 0.5, 0.9, 0.2};
        boolean[] forced = {false, false, false, false, false, true};
        var selection = ReferenceEstimation.select(scores, forced, Budget.topK(4), 0);
        assertArrayEquals(new int[] {1, 3, 4, 5}, selection.kept());
        assertEquals(0.5, selection.lastKept());
        var tie = ReferenceEstimation.select(scores, forced, Budget.topK(5), 0);
        assertArrayEquals(new int[] {1, 2, 3, 4, 5}, tie.kept(), "0.2 at 2 and 5: 5 is forced, then 2");
        var onlyForced = ReferenceEstimation.select(scores, ReferenceEstimation.forcedBelow(6, 3), Budget.topK(2), 0);
        assertArrayEquals(new int[] {0, 1}, onlyForced.kept());
        assertEquals(Double.POSITIVE_INFINITY, onlyForced.lastKept());
    }

    @Test
    void massAddsCandidatesUntilTheRealScoresReachTheTarget() {
        double[] scores = {0.1, 0.4, 0.3, 0.2};
        boolean[] forced = {true, false, false, false};
        // target 0.75 of 1: forced 0.1, + 0.4 = 0.5, + 0.3 = 0.8 reaches it
        assertArrayEquals(new int[] {0, 1, 2}, ReferenceEstimation.select(scores, forced, Budget.mass(0.75), 1)
                .kept());
        // target 0.1 is reached by the forced entry alone
        assertArrayEquals(new int[] {0}, ReferenceEstimation.select(scores, forced, Budget.mass(0.1), 1).kept());
        assertArrayEquals(new int[] {1}, ReferenceEstimation.select(scores, new boolean[4], Budget.mass(0.01), 1)
                .kept(), "at least one candidate");
    }

    @Test
    void scoresOfTwoTokensAreTheirSoftmaxSums() {
        AttentionShape shape = new AttentionShape(1, 1, 2);
        short one = BFloat16.fromFloat(1);
        short zero = BFloat16.fromFloat(0);
        short[] q = {one, zero, one, zero};
        short[] k = {one, zero, zero, zero};
        double[][] scores = ReferenceEstimation.verticalSlashScores(
                new ReferenceEstimation.Inputs(shape, 2, q, k), 0);
        double p = Math.exp(1 / Math.sqrt(2)) / (Math.exp(1 / Math.sqrt(2)) + 1);
        assertArrayEquals(new double[] {1 + p, 1 - p}, scores[0], 1e-12);
        assertArrayEquals(new double[] {1 + (1 - p), p}, scores[1], 1e-12);
    }

    @Test
    void diagonalsBecomeExactRangesAndColumnsOutsideThem() {
        SparseIndex index = new SparseIndex(0, 1, 200, 4, 4);
        ReferenceEstimation.verticalSlashIndex(index, 0, new int[] {3, 70, 150}, new int[] {0, 130});
        // block 0 [0, 64): diagonal 0 -> keys [0, 64); diagonal 130 not yet; columns 3 inside the range
        assertEquals(1, index.rangeCount(0, 0));
        assertEquals(64, index.rangeEnd(0, 0, 0));
        assertEquals(0, index.columnCount(0, 0));
        // block 2 [128, 192): diagonal 0 -> [128, 192); diagonal 130 -> exactly [0, 62); column 70 alone
        assertEquals(2, index.rangeCount(0, 2));
        assertEquals(0, index.rangeStart(0, 2, 0));
        assertEquals(62, index.rangeEnd(0, 2, 0));
        assertEquals(128, index.rangeStart(0, 2, 1));
        assertEquals(192, index.rangeEnd(0, 2, 1));
        assertEquals(1, index.columnCount(0, 2));
        assertEquals(70, index.column(0, 2, 0));
        // block 3 [192, 200): diagonal 0 -> [192, 200); diagonal 130 -> [62, 126) of its 64-row window; 3 and 150
        // outside both
        assertEquals(2, index.rangeCount(0, 3));
        assertEquals(62, index.rangeStart(0, 3, 0));
        assertEquals(126, index.rangeEnd(0, 3, 0));
        assertEquals(200, index.rangeEnd(0, 3, 1));
        assertEquals(2, index.columnCount(0, 3));
        assertEquals(3, index.column(0, 3, 0));
        assertEquals(150, index.column(0, 3, 1));
    }
}
