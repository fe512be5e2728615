package io.minference.sparse.estimate;

import io.minference.sparse.cpu.KeyPanels;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.cpu.ScoreTile;
import java.util.Arrays;

/**
 * Vertical-slash estimation for one head: the exact causal softmax {@code P} of the last {@code n = min(64, L)}
 * queries against all keys, summed down each column ({@code vertical[j] = Σ_i P[i, j]}) and along each diagonal
 * ({@code slash[δ] = Σ_i P[i, i - δ]}). Two passes over the key panels (row maxima and sums, then probabilities),
 * so memory stays O(L) at any length; scores in float, probabilities summed in double.
 *
 * @param rows the number of estimation rows n (each row's probabilities sum to 1, so both score arrays sum to n)
 */
public record VerticalSlashScores(double[] vertical, double[] slash, int rows) {
    public static final int ROWS = 64;

    public static VerticalSlashScores estimate(LayerInputs inputs, int head) {
        int length = inputs.length();
        int d = inputs.shape().headDim();
        int n = Math.min(ROWS, length);
        int first = length - n;
        float[] q = new float[KeyPanels.WIDTH * d];
        float[] s = new float[KeyPanels.WIDTH * KeyPanels.WIDTH];
        inputs.gatherQueries(head, first, n, inputs.shape().scale(), q);
        KeyPanels panels = inputs.panels(head);
        int panelCount = (length + KeyPanels.WIDTH - 1) / KeyPanels.WIDTH;

        float[] max = new float[n];
        double[] sum = new double[n];
        Arrays.fill(max, Float.NEGATIVE_INFINITY);
        for (int c = 0; c < panelCount; c++) {
            ScoreTile.multiply(q, n, d, panels.data(), panels.offset(c), s);
            for (int r = 0; r < n; r++) {
                int visible = visible(first + r, c);
                float m = max[r];
                for (int lane = 0; lane < visible; lane++) m = Math.max(m, s[r * KeyPanels.WIDTH + lane]);
                if (m > max[r]) {
                    sum[r] *= Math.exp((double) max[r] - m);
                    max[r] = m;
                }
                for (int lane = 0; lane < visible; lane++) sum[r] += Math.exp((double) s[r * KeyPanels.WIDTH + lane] - m);
            }
        }
        double[] vertical = new double[length];
        double[] slash = new double[length];
        for (int c = 0; c < panelCount; c++) {
            ScoreTile.multiply(q, n, d, panels.data(), panels.offset(c), s);
            for (int r = 0; r < n; r++) {
                int i = first + r;
                int visible = visible(i, c);
                for (int lane = 0; lane < visible; lane++) {
                    int j = c * KeyPanels.WIDTH + lane;
                    double p = Math.exp((double) s[r * KeyPanels.WIDTH + lane] - max[r]) / sum[r];
                    vertical[j] += p;
                    slash[i - j] += p;
                }
            }
        }
        return new VerticalSlashScores(vertical, slash, n);
    }

    /** Lanes of panel c at most row i. */
    private static int visible(int i, int c) {
        return Math.clamp(i - c * KeyPanels.WIDTH + 1, 0, KeyPanels.WIDTH);
    }
}
