package io.minference.kernels.flash;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.cuda.BFloat16;

import java.util.Random;
import java.util.stream.IntStream;

/**
 * One random causal attention problem in the flash layout, its values already rounded to bf16 (kept as floats for
 * the references and as bf16 bits for the device), and its float64 reference output.
 *
 * @param capacity cache rows; rows past {@code start + count} are never attended (the tests poison them)
 */
public record AttentionProblem(AttentionShape shape, int count, int start, int capacity, float[] q, float[] k, float[] v) {

    public static AttentionProblem random(AttentionShape shape, int count, int start, long seed) {
        return random(shape, count, start, start + count + 37, seed);
    }

    /** A cache of {@code capacity} rows, of which the queries attend the first {@code start + count}. */
    static AttentionProblem random(AttentionShape shape, int count, int start, int capacity, long seed) {
        Random random = new Random(seed);
        return new AttentionProblem(shape, count, start, capacity,
                bf16Gaussians(random, count * shape.queryDim(), 1.5),
                bf16Gaussians(random, capacity * shape.kvDim(), 1.0),
                bf16Gaussians(random, capacity * shape.kvDim(), 1.0));
    }

    private static float[] bf16Gaussians(Random random, int n, double sigma) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) values[i] = BFloat16.round((float) (sigma * random.nextGaussian()));
        return values;
    }

    static short[] bits(float[] values) {
        short[] bits = new short[values.length];
        for (int i = 0; i < values.length; i++) bits[i] = BFloat16.fromFloat(values[i]);
        return bits;
    }

    /** Float64 causal attention: query row t (position start + t) over keys [0, start + t]. */
    double[] reference() {
        int d = shape.headDim();
        int heads = shape.numHeads();
        double[] out = new double[count * shape.queryDim()];
        double scale = 1.0 / Math.sqrt(d);
        IntStream.range(0, count * heads).parallel().forEach(item -> {
            int t = item / heads;
            int h = item % heads;
            int kvHead = h / shape.groupSize();
            int keys = start + t + 1;
            double[] scores = new double[keys];
            double max = Double.NEGATIVE_INFINITY;
            int qBase = t * shape.queryDim() + h * d;
            for (int j = 0; j < keys; j++) {
                int kBase = j * shape.kvDim() + kvHead * d;
                double dot = 0;
                for (int i = 0; i < d; i++) dot += (double) q[qBase + i] * k[kBase + i];
                scores[j] = dot * scale;
                max = Math.max(max, scores[j]);
            }
            double sum = 0;
            for (int j = 0; j < keys; j++) {
                scores[j] = Math.exp(scores[j] - max);
                sum += scores[j];
            }
            for (int j = 0; j < keys; j++) {
                int vBase = j * shape.kvDim() + kvHead * d;
                double p = scores[j] / sum;
                for (int i = 0; i < d; i++) out[qBase + i] += p * v[vBase + i];
            }
        });
        return out;
    }

    /** ||actual - expected|| / ||expected||. */
    static double relativeError(float[] actual, double[] expected) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            double e = actual[i] - expected[i];
            diff += e * e;
            norm += expected[i] * expected[i];
        }
        return Math.sqrt(diff / norm);
    }
}
