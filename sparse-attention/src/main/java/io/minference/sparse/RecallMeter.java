package io.minference.sparse;

import io.minference.sparse.cpu.KeyPanels;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.cpu.ScoreTile;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Attention recall of candidate indices for one head: the mean over query rows of the dense attention mass
 * (exact causal softmax of the head's scores) that falls on the keys an index keeps for that row. Dense scores are
 * computed once per query block, in two passes over the key panels (row maxima and sums, then probabilities), and
 * every candidate is measured against the same probabilities.
 */
final class RecallMeter {
    private RecallMeter() {
    }

    /**
     * @param candidates indices holding {@code head} (at any slot), all of {@code inputs.length()} tokens
     * @return the recall of each candidate, in order
     */
    static double[] recall(LayerInputs inputs, int head, List<SparseIndex> candidates) {
        int length = inputs.length();
        int blocks = SparseIndex.queryBlocks(length);
        double[][] perBlock = new double[blocks][];
        IntStream.range(0, blocks).parallel().forEach(b -> perBlock[b] = block(inputs, head, candidates, b));
        double[] recall = new double[candidates.size()];
        for (double[] sums : perBlock) for (int c = 0; c < recall.length; c++) recall[c] += sums[c];
        for (int c = 0; c < recall.length; c++) recall[c] /= length;
        return recall;
    }

    /** Sums over the block's rows of each candidate's kept mass. */
    private static double[] block(LayerInputs inputs, int head, List<SparseIndex> candidates, int b) {
        int d = inputs.shape().headDim();
        int w = KeyPanels.WIDTH;
        int m0 = b * w;
        int rows = Math.min(m0 + w, inputs.length()) - m0;
        float[] q = new float[w * d];
        float[] s = new float[w * w];
        inputs.gatherQueries(head, m0, rows, inputs.shape().scale(), q);
        KeyPanels panels = inputs.panels(head);
        float[] max = new float[rows];
        double[] sum = new double[rows];
        Arrays.fill(max, Float.NEGATIVE_INFINITY);
        for (int c = 0; c <= b; c++) {
            ScoreTile.multiply(q, rows, d, panels.data(), panels.offset(c), s);
            for (int r = 0; r < rows; r++) {
                int visible = Math.clamp(m0 + r - c * w + 1, 0, w);
                float m = max[r];
                for (int lane = 0; lane < visible; lane++) m = Math.max(m, s[r * w + lane]);
                if (m > max[r]) {
                    sum[r] *= Math.exp((double) max[r] - m);
                    max[r] = m;
                }
                for (int lane = 0; lane < visible; lane++) sum[r] += Math.exp((double) s[r * w + lane] - m);
            }
        }
        float[][] kept = new float[candidates.size()][];
        for (int n = 0; n < kept.length; n++) kept[n] = keptKeys(candidates.get(n), head, b);
        double[] totals = new double[candidates.size()];
        double[] p = new double[w];
        for (int c = 0; c <= b; c++) {
            ScoreTile.multiply(q, rows, d, panels.data(), panels.offset(c), s);
            for (int r = 0; r < rows; r++) {
                int visible = Math.clamp(m0 + r - c * w + 1, 0, w);
                for (int lane = 0; lane < visible; lane++) p[lane] = Math.exp((double) s[r * w + lane] - max[r]) / sum[r];
                for (int n = 0; n < kept.length; n++) {
                    double mass = 0;
                    for (int lane = 0; lane < visible; lane++) mass += p[lane] * kept[n][c * w + lane];
                    totals[n] += mass;
                }
            }
        }
        return totals;
    }

    /** 1 for the keys below the block's end that the index keeps for head's query block b, else 0. */
    private static float[] keptKeys(SparseIndex index, int head, int b) {
        int h = head - index.firstHead();
        if (h < 0 || h >= index.heads()) throw new IllegalArgumentException("index " + index + " lacks head " + head);
        float[] kept = new float[(b + 1) * KeyPanels.WIDTH];
        for (int r = 0; r < index.rangeCount(h, b); r++) {
            Arrays.fill(kept, index.rangeStart(h, b, r), index.rangeEnd(h, b, r), 1f);
        }
        for (int c = 0; c < index.columnCount(h, b); c++) kept[index.column(h, b, c)] = 1f;
        return kept;
    }
}
