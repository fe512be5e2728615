package io.minference.sparse.estimate;

import io.minference.sparse.Budget;
import java.util.Arrays;
import java.util.function.IntPredicate;

/**
 * What a budget keeps among scored candidates, by the rules of docs/sparse-attention.md: forced entries rank as
 * {@code +inf}, candidates are ordered by score descending with ties broken by lower index, and
 * <ul>
 *   <li>top-k keeps the first {@code min(k, candidates)} (forced entries count towards k);</li>
 *   <li>mass γ keeps the forced entries, then adds candidates in order while the sum of the kept real scores is
 *       below {@code γ · total}; at least one candidate is kept.</li>
 * </ul>
 * Both are computed without sorting indices: the scores are sorted once to find the last kept value, then the kept
 * set is everything above it plus, in index order, as many entries equal to it as the count still needs.
 */
public final class Selection {
    private Selection() {
    }

    /** Keeps by {@code budget} among candidates {@code [0, count)}, the mass total being the sum of the real scores. */
    public static int[] select(double[] scores, int count, IntPredicate forced, Budget budget) {
        return switch (budget) {
            case Budget.TopK(int k) -> topK(scores, count, forced, k);
            case Budget.Mass(double gamma) -> mass(scores, count, forced, gamma, realSum(scores, count));
        };
    }

    /** As {@link #select}, with an explicit mass total (vertical-slash uses the number of estimation rows). */
    public static int[] select(double[] scores, int count, IntPredicate forced, Budget budget, double massTotal) {
        return switch (budget) {
            case Budget.TopK(int k) -> topK(scores, count, forced, k);
            case Budget.Mass(double gamma) -> mass(scores, count, forced, gamma, massTotal);
        };
    }

    /** The ascending indices of the first {@code min(k, count)} candidates in rank order. */
    public static int[] topK(double[] scores, int count, IntPredicate forced, int k) {
        requireFinite(scores, count);
        int keep = Math.min(k, count);
        if (keep <= 0) return new int[0];
        double[] ranked = new double[count];
        for (int i = 0; i < count; i++) ranked[i] = forced.test(i) ? Double.POSITIVE_INFINITY : scores[i];
        if (keep == count) return everything(count);
        double[] sorted = ranked.clone();
        Arrays.sort(sorted);
        double last = sorted[count - keep];
        int above = 0;
        for (int i = count - keep + 1; i < count; i++) if (sorted[i] > last) above++;
        return keepAbove(ranked, count, last, keep - above);
    }

    /** The ascending indices kept by a mass budget of {@code gamma} of {@code total}. */
    public static int[] mass(double[] scores, int count, IntPredicate forced, double gamma, double total) {
        requireFinite(scores, count);
        if (count == 0) return new int[0];
        double target = gamma * total;
        double kept = 0;
        int forcedCount = 0;
        int free = 0;
        double[] ranked = new double[count];
        double[] sorted = new double[count];
        for (int i = 0; i < count; i++) {
            if (forced.test(i)) {
                kept += scores[i];
                forcedCount++;
                ranked[i] = Double.POSITIVE_INFINITY;
            } else {
                ranked[i] = scores[i];
                sorted[free++] = scores[i];
            }
        }
        Arrays.sort(sorted, 0, free);
        int taken = 0;
        while (taken < free && (kept < target || forcedCount + taken == 0)) {
            kept += sorted[free - 1 - taken];
            taken++;
        }
        if (taken == 0) return keepAbove(ranked, count, Double.POSITIVE_INFINITY, forcedCount);
        double last = sorted[free - taken];
        int above = forcedCount;
        for (int i = free - taken + 1; i < free; i++) if (sorted[i] > last) above++;
        return keepAbove(ranked, count, last, forcedCount + taken - above);
    }

    /** Everything ranked above {@code last}, plus the first {@code equal} (in index order) ranked exactly at it. */
    private static int[] keepAbove(double[] ranked, int count, double last, int equal) {
        int[] kept = new int[count];
        int n = 0;
        for (int i = 0; i < count; i++) {
            if (ranked[i] > last || (ranked[i] == last && equal-- > 0)) kept[n++] = i;
        }
        return Arrays.copyOf(kept, n);
    }

    private static int[] everything(int count) {
        int[] all = new int[count];
        for (int i = 0; i < count; i++) all[i] = i;
        return all;
    }

    private static double realSum(double[] scores, int count) {
        double sum = 0;
        for (int i = 0; i < count; i++) sum += scores[i];
        return sum;
    }

    private static void requireFinite(double[] scores, int count) {
        for (int i = 0; i < count; i++) {
            if (Double.isNaN(scores[i]) || Double.isInfinite(scores[i])) {
                throw new IllegalArgumentException("candidate " + i + " has score " + scores[i]
                        + ": the queries or keys hold non-finite values");
            }
        }
    }
}
