package io.minference.kernels.cpu;

import io.minference.runtime.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;

/** Fresh random inputs for kernel tests. */
public final class RandomTensors {
    private RandomTensors() {
    }

    public static float[] uniform(SplittableRandom random, int n, double scale) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) values[i] = (float) ((random.nextDouble() * 2 - 1) * scale);
        return values;
    }

    public static Tensor tensor(SplittableRandom random, double scale, int... shape) {
        long n = Tensor.elementCount(Arrays.stream(shape).asLongStream().toArray());
        return Tensor.ofFloats(uniform(random, (int) n, scale), Arrays.stream(shape).asLongStream().toArray());
    }

    /** Relative closeness with an absolute floor, for values whose size is near 1. */
    public static void assertClose(double expected, double actual, double tolerance, String where) {
        double error = Math.abs(expected - actual) / Math.max(1.0, Math.abs(expected));
        if (!(error <= tolerance)) {
            throw new AssertionError(where + ": expected " + expected + " but got " + actual + " (error " + error + ")");
        }
    }
}
