package io.minference.llama.synthetic;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Synthetic weights must give a forward pass without overflow or collapse, even 32 layers deep. A plain double
 * precision LLaMA forward pass (RoPE left out: a rotation does not change the magnitudes checked here) runs a few
 * tokens and checks the residual stream's size after every layer and the spread of the logits.
 */
class SyntheticForwardSanityTest {
    @TempDir
    Path dir;

    @Test
    void tinyShape() {
        check(SyntheticShape.named("tiny").orElseThrow());
    }

    @Test
    void deepNarrowShape() throws IOException {
        Path file = Files.writeString(dir.resolve("deep.yaml"), """
                dim: 64
                hidden_dim: 224
                layers: 32
                heads: 4
                kv_heads: 2
                context_length: 64
                """);
        check(SyntheticShape.fromYaml(file));
    }

    private static void check(SyntheticShape shape) {
        LlamaConfig c = shape.config();
        int[] tokens = {256, 72, 101, 108, 108, 111};
        try (LlamaWeights w = SyntheticModel.create(shape, ProgressListener.NONE)) {
            List<List<double[]>> keys = new ArrayList<>();
            List<List<double[]>> values = new ArrayList<>();
            for (int l = 0; l < c.numLayers(); l++) {
                keys.add(new ArrayList<>());
                values.add(new ArrayList<>());
            }
            for (int token : tokens) {
                double[] x = row(w.tokenEmbedding(), token, c.dim());
                double[] embedding = x.clone();
                for (int l = 0; l < c.numLayers(); l++) {
                    LayerWeights layer = w.layers().get(l);
                    double[] xn = rmsNorm(x, layer.attentionNorm(), c.rmsEps());
                    double[] q = matVec(layer.wq(), xn);
                    keys.get(l).add(matVec(layer.wk(), xn));
                    values.get(l).add(matVec(layer.wv(), xn));
                    double[] attention = attend(c, q, keys.get(l), values.get(l));
                    add(x, matVec(layer.wo(), attention));
                    xn = rmsNorm(x, layer.ffnNorm(), c.rmsEps());
                    double[] gate = matVec(layer.wGate(), xn);
                    double[] up = matVec(layer.wUp(), xn);
                    for (int i = 0; i < gate.length; i++) gate[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
                    add(x, matVec(layer.wDown(), gate));
                    double rms = rms(x);
                    assertTrue(Double.isFinite(rms) && rms > 1e-3 && rms < 4,
                            shape.name() + " layer " + l + ": residual RMS " + rms);
                }
                double[] change = x.clone();
                for (int i = 0; i < change.length; i++) change[i] -= embedding[i];
                double share = rms(change) / rms(x);
                assertTrue(share > 0.5, shape.name() + ": the layers contribute only " + share + " of the residual");
                double[] logits = matVec(w.classifier(), rmsNorm(x, w.outputNorm(), c.rmsEps()));
                double mean = 0;
                for (double v : logits) mean += v / logits.length;
                double spread = 0;
                for (double v : logits) spread += (v - mean) * (v - mean) / logits.length;
                spread = Math.sqrt(spread);
                assertTrue(spread > 0.1 && spread < 3, shape.name() + ": logit standard deviation " + spread);
            }
        }
    }

    private static double[] attend(LlamaConfig c, double[] q, List<double[]> keys, List<double[]> values) {
        int hd = c.headDim();
        double[] out = new double[c.dim()];
        for (int h = 0; h < c.numHeads(); h++) {
            int kvHead = h / c.groupSize();
            double[] scores = new double[keys.size()];
            double max = Double.NEGATIVE_INFINITY;
            for (int t = 0; t < keys.size(); t++) {
                double s = 0;
                for (int i = 0; i < hd; i++) s += q[h * hd + i] * keys.get(t)[kvHead * hd + i];
                scores[t] = s / Math.sqrt(hd);
                max = Math.max(max, scores[t]);
            }
            double sum = 0;
            for (int t = 0; t < scores.length; t++) sum += scores[t] = Math.exp(scores[t] - max);
            for (int t = 0; t < scores.length; t++) {
                for (int i = 0; i < hd; i++) out[h * hd + i] += scores[t] / sum * values.get(t)[kvHead * hd + i];
            }
        }
        return out;
    }

    private static double[] row(Tensor t, int r, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = t.getFloat((long) r * n + i);
        return x;
    }

    private static double[] matVec(Tensor w, double[] x) {
        int rows = (int) w.dim(0);
        int cols = (int) w.dim(1);
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            long base = (long) r * cols;
            for (int i = 0; i < cols; i++) s += w.getFloat(base + i) * x[i];
            y[r] = s;
        }
        return y;
    }

    private static double[] rmsNorm(double[] x, Tensor weight, float eps) {
        double scale = 1 / Math.sqrt(rms(x) * rms(x) + eps);
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = x[i] * scale * weight.getFloat(i);
        return y;
    }

    private static double rms(double[] x) {
        double s = 0;
        for (double v : x) s += v * v;
        return Math.sqrt(s / x.length);
    }

    private static void add(double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) x[i] += y[i];
    }
}
