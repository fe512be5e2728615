package io.minference.sparse.estimate;

import io.minference.sparse.SparseIndex;
import io.minference.sparse.cpu.LayerInputs;

/**
 * Block-sparse estimation for one head: queries and keys mean-pooled over each 64-token block (the last block
 * averages the rows it has), and the scores {@code S[b][c] = q̄_b · k̄_c / √d} for key blocks {@code c ≤ b}, in
 * double. Row b of {@link #scores()} has b + 1 entries.
 */
public record BlockScores(double[][] scores) {

    public static BlockScores estimate(LayerInputs inputs, int head) {
        int length = inputs.length();
        int d = inputs.shape().headDim();
        int blocks = SparseIndex.queryBlocks(length);
        int kv = inputs.kvHead(head);
        double[][] q = new double[blocks][d];
        double[][] k = new double[blocks][d];
        for (int b = 0; b < blocks; b++) {
            int from = b * SparseIndex.BLOCK;
            int to = Math.min(from + SparseIndex.BLOCK, length);
            for (int i = from; i < to; i++) {
                for (int x = 0; x < d; x++) {
                    q[b][x] += inputs.query(head, i, x);
                    k[b][x] += inputs.key(kv, i, x);
                }
            }
            for (int x = 0; x < d; x++) {
                q[b][x] /= to - from;
                k[b][x] /= to - from;
            }
        }
        double scale = 1 / Math.sqrt(d);
        double[][] scores = new double[blocks][];
        for (int b = 0; b < blocks; b++) {
            scores[b] = new double[b + 1];
            for (int c = 0; c <= b; c++) {
                double dot = 0;
                for (int x = 0; x < d; x++) dot += q[b][x] * k[c][x];
                scores[b][c] = dot * scale;
            }
        }
        return new BlockScores(scores);
    }

    /** Row b's softmax over its key blocks: what a mass budget measures. */
    public double[] probabilities(int b) {
        double[] row = scores[b];
        double max = Double.NEGATIVE_INFINITY;
        for (double s : row) max = Math.max(max, s);
        double[] p = new double[row.length];
        double sum = 0;
        for (int c = 0; c < row.length; c++) sum += p[c] = Math.exp(row[c] - max);
        for (int c = 0; c < row.length; c++) p[c] /= sum;
        return p;
    }
}
