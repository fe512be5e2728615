package io.minference.sparse;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Random inputs and the plain float64 reference of sparse attention. */
public final class TestTensors {
    private TestTensors() {
    }

    /**
     * A fresh generator for a test of {@code test}, seeded from the clock or from {@code -Dminference.test.seed=N}
     * (to rerun a failure); the seed is printed, so that a failure can be reproduced.
     */
    public static SplittableRandom seededRandom(Class<?> test) {
        long seed = Long.getLong("minference.test.seed", System.nanoTime());
        System.out.println(test.getSimpleName() + ": random seed " + seed + " (rerun with -Dminference.test.seed="
                + seed + ")");
        return new SplittableRandom(seed);
    }

    public static Tensor random(SplittableRandom random, double scale, long rows, long width) {
        Tensor t = Tensor.allocate(DType.F32, rows, width);
        for (long i = 0; i < rows * width; i++) t.setFloat(i, (float) (scale * (2 * random.nextDouble() - 1)));
        return t;
    }

    /** Every element NaN, so that an unwritten output shows. */
    public static Tensor poisoned(long rows, long width) {
        Tensor t = Tensor.allocate(DType.F32, rows, width);
        for (long i = 0; i < rows * width; i++) t.setFloat(i, Float.NaN);
        return t;
    }

    /** Query row i of index head slot h attends the index's keys at most i; softmax and sums in double. */
    public static double[] reference(AttentionShape shape, Tensor q, Tensor k, Tensor v, SparseIndex index, int h,
                                     int i) {
        int d = shape.headDim();
        int head = index.firstHead() + h;
        int kv = head / shape.groupSize();
        int b = i / SparseIndex.BLOCK;
        List<Integer> keys = new ArrayList<>();
        for (int r = 0; r < index.rangeCount(h, b); r++) {
            for (int j = index.rangeStart(h, b, r); j < index.rangeEnd(h, b, r); j++) if (j <= i) keys.add(j);
        }
        for (int c = 0; c < index.columnCount(h, b); c++) if (index.column(h, b, c) <= i) keys.add(index.column(h, b, c));
        double[] out = new double[d];
        if (keys.isEmpty()) return out;
        double[] s = new double[keys.size()];
        double max = Double.NEGATIVE_INFINITY;
        for (int n = 0; n < s.length; n++) {
            double dot = 0;
            for (int x = 0; x < d; x++) {
                dot += (double) q.getFloat((long) i * shape.queryDim() + head * d + x)
                        * k.getFloat((long) keys.get(n) * shape.kvDim() + kv * d + x);
            }
            s[n] = dot / Math.sqrt(d);
            max = Math.max(max, s[n]);
        }
        double sum = 0;
        for (int n = 0; n < s.length; n++) sum += s[n] = Math.exp(s[n] - max);
        for (int n = 0; n < s.length; n++) {
            for (int x = 0; x < d; x++) out[x] += s[n] / sum * v.getFloat((long) keys.get(n) * shape.kvDim() + kv * d + x);
        }
        return out;
    }

    /** Relative error, norm-wise, of rows [0, length) of the index's heads of {@code out} against the reference. */
    public static double relativeError(AttentionShape shape, Tensor q, Tensor k, Tensor v, Tensor out,
                                       SparseIndex index) {
        double diff = 0, norm = 0;
        int d = shape.headDim();
        for (int h = 0; h < index.heads(); h++) {
            int head = index.firstHead() + h;
            for (int i = 0; i < index.length(); i++) {
                double[] expected = reference(shape, q, k, v, index, h, i);
                for (int x = 0; x < d; x++) {
                    float got = out.getFloat((long) i * shape.queryDim() + head * d + x);
                    assertTrue(Float.isFinite(got), "output row " + i + " head " + head + " not written");
                    diff += (got - expected[x]) * (got - expected[x]);
                    norm += expected[x] * expected[x];
                }
            }
        }
        return Math.sqrt(diff / Math.max(norm, 1e-30));
    }
}
