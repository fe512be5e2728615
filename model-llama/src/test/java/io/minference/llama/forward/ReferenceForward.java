package io.minference.llama.forward;

import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.runtime.Tensor;

/**
 * The LLaMA forward pass written as plainly as possible in double precision, recomputing everything for the whole
 * sequence: an independent check of the blocked, cached, vectorized path.
 */
final class ReferenceForward {
    private ReferenceForward() {
    }

    /** Logits at every position of {@code tokens}. */
    static double[][] logits(LlamaConfig c, LlamaWeights w, int[] tokens) {
        int n = tokens.length;
        int hd = c.headDim();
        double[][] x = new double[n][];
        for (int t = 0; t < n; t++) x[t] = row(w.tokenEmbedding(), tokens[t], c.dim());
        for (LayerWeights lw : w.layers()) {
            double[][] q = new double[n][], k = new double[n][], v = new double[n][];
            for (int t = 0; t < n; t++) {
                double[] xn = rmsNorm(x[t], lw.attentionNorm(), c.rmsEps());
                q[t] = rope(matVec(lw.wq(), xn), t, c, w.ropeFreqFactors());
                k[t] = rope(matVec(lw.wk(), xn), t, c, w.ropeFreqFactors());
                v[t] = matVec(lw.wv(), xn);
            }
            for (int t = 0; t < n; t++) {
                double[] attended = new double[c.numHeads() * hd];
                for (int h = 0; h < c.numHeads(); h++) {
                    int kvh = h / c.groupSize();
                    double[] weights = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= t; j++) {
                        double s = 0;
                        for (int i = 0; i < hd; i++) s += q[t][h * hd + i] * k[j][kvh * hd + i];
                        weights[j] = s / Math.sqrt(hd);
                        max = Math.max(max, weights[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= t; j++) sum += weights[j] = Math.exp(weights[j] - max);
                    for (int j = 0; j <= t; j++) {
                        for (int i = 0; i < hd; i++) attended[h * hd + i] += weights[j] / sum * v[j][kvh * hd + i];
                    }
                }
                add(x[t], matVec(lw.wo(), attended));
            }
            for (int t = 0; t < n; t++) {
                double[] xn = rmsNorm(x[t], lw.ffnNorm(), c.rmsEps());
                double[] gate = matVec(lw.wGate(), xn), up = matVec(lw.wUp(), xn);
                for (int i = 0; i < gate.length; i++) gate[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
                add(x[t], matVec(lw.wDown(), gate));
            }
        }
        double[][] logits = new double[n][];
        for (int t = 0; t < n; t++) logits[t] = matVec(w.classifier(), rmsNorm(x[t], w.outputNorm(), c.rmsEps()));
        return logits;
    }

    private static double[] rope(double[] x, int position, LlamaConfig c, float[] factors) {
        int hd = c.headDim();
        for (int head = 0; head < x.length / hd; head++) {
            for (int i = 0; i < hd / 2; i++) {
                double freq = Math.pow(c.ropeTheta(), -2.0 * i / hd) / (factors == null ? 1 : factors[i]);
                double cos = Math.cos(position * freq), sin = Math.sin(position * freq);
                int a = head * hd + 2 * i;
                double x0 = x[a], x1 = x[a + 1];
                x[a] = x0 * cos - x1 * sin;
                x[a + 1] = x0 * sin + x1 * cos;
            }
        }
        return x;
    }

    private static double[] rmsNorm(double[] x, Tensor weight, float eps) {
        double ss = 0;
        for (double v : x) ss += v * v;
        double scale = 1 / Math.sqrt(ss / x.length + eps);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] * scale * weight.getFloat(i);
        return out;
    }

    private static double[] matVec(Tensor w, double[] x) {
        int rows = (int) w.dim(0), cols = (int) w.dim(1);
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int i = 0; i < cols; i++) s += w.getFloat((long) r * cols + i) * x[i];
            out[r] = s;
        }
        return out;
    }

    private static double[] row(Tensor t, int r, int dim) {
        double[] out = new double[dim];
        for (int i = 0; i < dim; i++) out[i] = t.getFloat((long) r * dim + i);
        return out;
    }

    private static void add(double[] acc, double[] delta) {
        for (int i = 0; i < acc.length; i++) acc[i] += delta[i];
    }
}
