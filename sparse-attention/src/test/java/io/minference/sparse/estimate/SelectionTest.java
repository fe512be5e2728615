package io.minference.sparse.estimate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.sparse.Budget;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Test;

class SelectionTest {
    private static final IntPredicate NONE = i -> false;

    @Test
    void topKKeepsHighestScoresAscending() {
        double[] s = {0.1, 0.5, 0.3, 0.9, 0.2};
        assertArrayEquals(new int[] {1, 3}, Selection.topK(s, 5, NONE, 2));
        assertArrayEquals(new int[] {1, 2, 3}, Selection.topK(s, 5, NONE, 3));
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, Selection.topK(s, 5, NONE, 9));
        assertArrayEquals(new int[0], Selection.topK(s, 5, NONE, 0));
        assertArrayEquals(new int[] {1}, Selection.topK(s, 3, NONE, 1), "only the first three are candidates");
    }

    @Test
    void tiesGoToTheLowerIndex() {
        double[] s = {0.2, 0.7, 0.2, 0.7, 0.2, 0.7};
        assertArrayEquals(new int[] {1, 3}, Selection.topK(s, 6, NONE, 2));
        assertArrayEquals(new int[] {0, 1, 3, 5}, Selection.topK(s, 6, NONE, 4));
        assertArrayEquals(new int[] {0, 1, 2, 3, 5}, Selection.topK(s, 6, NONE, 5));
    }

    @Test
    void forcedEntriesRankFirstAndCountTowardsK() {
        double[] s = {0.0, 0.0, 0.9, 0.8, 0.7};
        IntPredicate firstTwo = i -> i < 2;
        assertArrayEquals(new int[] {0, 1, 2}, Selection.topK(s, 5, firstTwo, 3));
        assertArrayEquals(new int[] {0}, Selection.topK(s, 5, firstTwo, 1), "k below the forced count: lower index");
    }

    @Test
    void massKeepsForcedThenAddsUntilTheFractionIsReached() {
        double[] s = {0.05, 0.4, 0.3, 0.15, 0.1};
        // order: 1 (0.4), 2 (0.3), 3 (0.15), 4 (0.1), 0 (0.05); total 1
        assertArrayEquals(new int[] {1}, Selection.mass(s, 5, NONE, 0.4, 1));
        assertArrayEquals(new int[] {1, 2}, Selection.mass(s, 5, NONE, 0.41, 1));
        assertArrayEquals(new int[] {1, 2, 3}, Selection.mass(s, 5, NONE, 0.8, 1));
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, Selection.mass(s, 5, NONE, 1.0, 1));
        // forced entry 0 counts its real 0.05: 0.05 + 0.4 = 0.45 reaches 0.45
        assertArrayEquals(new int[] {0, 1}, Selection.mass(s, 5, i -> i == 0, 0.45, 1));
        // forced entries alone already reach it, yet all of them stay
        assertArrayEquals(new int[] {3, 4}, Selection.mass(s, 5, i -> i >= 3, 0.1, 1));
    }

    @Test
    void massKeepsAtLeastOneCandidateAndBreaksTiesByIndex() {
        double[] zeros = {0, 0, 0};
        assertArrayEquals(new int[] {0}, Selection.mass(zeros, 3, NONE, 0.5, 0));
        double[] ties = {0.25, 0.25, 0.25, 0.25};
        assertArrayEquals(new int[] {0, 1}, Selection.mass(ties, 4, NONE, 0.5, 1));
        assertArrayEquals(new int[] {0, 1, 2}, Selection.mass(ties, 4, NONE, 0.51, 1));
    }

    @Test
    void massSelectionGrowsWithGamma() {
        SplittableRandom random = new SplittableRandom(7);
        double[] s = new double[500];
        for (int i = 0; i < s.length; i++) s[i] = random.nextDouble() < 0.3 ? 0.5 : random.nextDouble();
        int previous = 0;
        int[] previousSet = new int[0];
        for (double gamma = 0.05; gamma <= 1.0; gamma += 0.05) {
            int[] kept = Selection.select(s, s.length, i -> i < 3, Budget.mass(Math.min(1, gamma)));
            assertTrue(kept.length >= previous, "gamma " + gamma);
            for (int i : previousSet) assertTrue(Arrays.binarySearch(kept, i) >= 0, "subset at " + gamma);
            previous = kept.length;
            previousSet = kept;
        }
    }

    @Test
    void topKMatchesAFullSortOnRandomScoresWithTies() {
        SplittableRandom random = new SplittableRandom(11);
        for (int trial = 0; trial < 50; trial++) {
            int n = 1 + random.nextInt(200);
            double[] s = new double[n];
            for (int i = 0; i < n; i++) s[i] = random.nextInt(10) / 10.0;
            int k = random.nextInt(n + 2);
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) order[i] = i;
            Arrays.sort(order, (a, b) -> s[a] != s[b] ? Double.compare(s[b], s[a]) : Integer.compare(a, b));
            int[] expected = Arrays.stream(order).limit(Math.min(k, n)).mapToInt(Integer::intValue).sorted()
                    .toArray();
            assertArrayEquals(expected, Selection.topK(s, n, NONE, k));
        }
    }

    @Test
    void nonFiniteScoresAreRefused() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Selection.topK(new double[] {0.1, Double.NaN}, 2, NONE, 1));
        assertTrue(e.getMessage().contains("non-finite"), e.getMessage());
    }
}
