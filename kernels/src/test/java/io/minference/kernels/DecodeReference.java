package io.minference.kernels;

/** Float64 single-query attention, the reference of the decode kernels' tests. */
public final class DecodeReference {
    private DecodeReference() {
    }

    /**
     * The output of query head {@code h} (row h of {@code q}, [heads][headDim]) attending to the first {@code length}
     * rows of its KV head {@code kvHead} in {@code k} and {@code v} ([rows][kvDim]), scaled by 1/sqrt(headDim).
     */
    public static double[] attend(float[] q, float[] k, float[] v, int h, int kvHead, int headDim, int kvDim,
                                  int length) {
        double[] scores = new double[length];
        double max = Double.NEGATIVE_INFINITY;
        for (int t = 0; t < length; t++) {
            double dot = 0;
            for (int i = 0; i < headDim; i++) dot += (double) q[h * headDim + i] * k[t * kvDim + kvHead * headDim + i];
            scores[t] = dot / Math.sqrt(headDim);
            max = Math.max(max, scores[t]);
        }
        double sum = 0;
        for (int t = 0; t < length; t++) sum += scores[t] = Math.exp(scores[t] - max);
        double[] out = new double[headDim];
        for (int t = 0; t < length; t++) {
            for (int i = 0; i < headDim; i++) out[i] += scores[t] * v[t * kvDim + kvHead * headDim + i];
        }
        for (int i = 0; i < headDim; i++) out[i] /= sum;
        return out;
    }
}
