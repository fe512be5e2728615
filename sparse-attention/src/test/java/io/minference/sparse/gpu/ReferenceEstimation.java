package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.cuda.BFloat16;
import io.minference.sparse.Budget;
import io.minference.sparse.SparseIndex;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * A plain float64 version of docs/sparse-attention.md's estimation, selection and index building, on the same bf16
 * inputs the GPU reads: the ground truth of the GPU index builder's tests.
 */
final class ReferenceEstimation {
    static final int FORCED_COLUMNS = 30;
    static final int FORCED_DIAGONALS = 100;

    private ReferenceEstimation() {
    }

    /** bf16 queries [L, numHeads, d] and keys [L, numKvHeads, d]. */
    record Inputs(AttentionShape shape, int length, short[] q, short[] k) {
        double q(int i, int head, int e) {
            return BFloat16.toFloat(q[(i * shape.numHeads() + head) * shape.headDim() + e]);
        }

        double k(int j, int kvHead, int e) {
            return BFloat16.toFloat(k[(j * shape.numKvHeads() + kvHead) * shape.headDim() + e]);
        }
    }

    /**
     * A selection: the kept indices ascending, the scores it ranked (real values), which were forced, and the real
     * score of the last kept entry in rank order (+inf where that entry was forced or nothing was kept).
     */
    record Selection(int[] kept, double[] scores, boolean[] forced, double lastKept) {
    }

    /** {v, s}: the column and diagonal sums of the causal softmax of the last min(64, L) queries of a head. */
    static double[][] verticalSlashScores(Inputs in, int head) {
        int length = in.length();
        int d = in.shape().headDim();
        int kvHead = head / in.shape().groupSize();
        int n = Math.min(64, length);
        double[] v = new double[length];
        double[] s = new double[length];
        double scale = 1 / Math.sqrt(d);
        double[] logits = new double[length];
        for (int i = length - n; i < length; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j <= i; j++) {
                double dot = 0;
                for (int e = 0; e < d; e++) dot += in.q(i, head, e) * in.k(j, kvHead, e);
                logits[j] = dot * scale;
                max = Math.max(max, logits[j]);
            }
            double sum = 0;
            for (int j = 0; j <= i; j++) sum += Math.exp(logits[j] - max);
            for (int j = 0; j <= i; j++) {
                double p = Math.exp(logits[j] - max) / sum;
                v[j] += p;
                s[i - j] += p;
            }
        }
        return new double[][] {v, s};
    }

    /** The doc's selection: forced first, then score descending, ties by lower index; top-k or mass. */
    static Selection select(double[] scores, boolean[] forced, Budget budget, double total) {
        int count = scores.length;
        Integer[] order = IntStream.range(0, count).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.<Integer>comparingDouble(j -> forced[j] ? Double.NEGATIVE_INFINITY : -scores[j])
                .thenComparingInt(j -> j));
        int keep;
        switch (budget) {
            case Budget.TopK(int k) -> keep = Math.min(k, count);
            case Budget.Mass(double gamma) -> {
                double target = gamma * total;
                double sum = 0;
                keep = 0;
                while (keep < count && (forced[order[keep]] || keep == 0 || sum < target)) {
                    sum += scores[order[keep]];
                    keep++;
                }
            }
        }
        int[] kept = new int[keep];
        for (int i = 0; i < keep; i++) kept[i] = order[i];
        Arrays.sort(kept);
        double last = keep == 0 || forced[order[keep - 1]] ? Double.POSITIVE_INFINITY : scores[order[keep - 1]];
        return new Selection(kept, scores, forced, last);
    }

    static boolean[] forcedBelow(int count, int limit) {
        boolean[] forced = new boolean[count];
        for (int j = 0; j < Math.min(limit, count); j++) forced[j] = true;
        return forced;
    }

    /** Vertical-slash index of slot h from its kept columns and diagonals (ascending). */
    static void verticalSlashIndex(SparseIndex index, int h, int[] columns, int[] diagonals) {
        for (int b = 0; b < index.queryBlocks(); b++) {
            int m0 = b * SparseIndex.BLOCK;
            int m1 = index.blockEnd(b);
            boolean[] keys = new boolean[m1];
            for (int delta : diagonals) {
                if (delta >= m1) continue;
                for (int j = Math.max(0, m0 - delta); j < Math.min(m0 + 64 - delta, m1); j++) keys[j] = true;
            }
            for (int j = 0; j < m1; j++) {
                if (!keys[j]) continue;
                int end = j;
                while (end < m1 && keys[end]) end++;
                index.addRange(h, b, j, end);
                j = end;
            }
            for (int j : columns) {
                if (j < m1 && !keys[j]) index.addColumn(h, b, j);
            }
        }
    }

    /** Merges the marked key blocks of query block b into ranges, ends clipped to the block's end. */
    static void addRuns(SparseIndex index, int h, int b, boolean[] marked) {
        int m1 = index.blockEnd(b);
        for (int c = 0; c < marked.length; c++) {
            if (!marked[c]) continue;
            int end = c;
            while (end + 1 < marked.length && marked[end + 1]) end++;
            index.addRange(h, b, 64 * c, Math.min(64 * (end + 1), m1));
            c = end;
        }
    }

    static void denseIndex(SparseIndex index, int h) {
        for (int b = 0; b < index.queryBlocks(); b++) index.addRange(h, b, 0, index.blockEnd(b));
    }

    static void aShapeIndex(SparseIndex index, int h, int sink, int local) {
        for (int b = 0; b < index.queryBlocks(); b++) {
            int m0 = b * 64;
            boolean[] marked = new boolean[b + 1];
            for (int c = 0; c <= b && 64 * c < sink; c++) marked[c] = true;
            for (int c = Math.max(0, m0 - local + 1) / 64; c <= b; c++) marked[c] = true;
            addRuns(index, h, b, marked);
        }
    }

    /** S[b][c] = mean(q of block b)·mean(k of block c)/sqrt(d) for c <= b. */
    static double[][] blockScores(Inputs in, int head) {
        int d = in.shape().headDim();
        int kvHead = head / in.shape().groupSize();
        int blocks = SparseIndex.queryBlocks(in.length());
        double[][] q = new double[blocks][d];
        double[][] k = new double[blocks][d];
        for (int b = 0; b < blocks; b++) {
            int m0 = 64 * b;
            int m1 = Math.min(m0 + 64, in.length());
            for (int i = m0; i < m1; i++) {
                for (int e = 0; e < d; e++) {
                    q[b][e] += in.q(i, head, e) / (m1 - m0);
                    k[b][e] += in.k(i, kvHead, e) / (m1 - m0);
                }
            }
        }
        double[][] scores = new double[blocks][];
        for (int b = 0; b < blocks; b++) {
            scores[b] = new double[b + 1];
            for (int c = 0; c <= b; c++) {
                double dot = 0;
                for (int e = 0; e < d; e++) dot += q[b][e] * k[c][e];
                scores[b][c] = dot / Math.sqrt(d);
            }
        }
        return scores;
    }

    /** Block-sparse selection of query block b: blocks 0 and b forced; top-k by S, mass over softmax(S). */
    static Selection blockSelect(double[] scores, Budget budget) {
        int b = scores.length - 1;
        boolean[] forced = new boolean[b + 1];
        forced[0] = true;
        forced[b] = true;
        if (budget instanceof Budget.TopK) return select(scores, forced, budget, 0);
        double max = Arrays.stream(scores).max().orElseThrow();
        double[] softmax = Arrays.stream(scores).map(s -> Math.exp(s - max)).toArray();
        double sum = Arrays.stream(softmax).sum();
        for (int c = 0; c <= b; c++) softmax[c] /= sum;
        return select(softmax, forced, budget, 1.0);
    }
}
