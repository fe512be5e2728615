package io.minference.runtime.cuda;

import java.util.Random;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Shared helpers of the tests tagged "gpu": they skip themselves where no CUDA device is usable. */
public final class GpuTests {
    private GpuTests() {
    }

    public static CudaBackend openOrSkip() {
        CudaAvailability availability = CudaDriver.availability();
        assumeTrue(availability.available(), () -> "no usable CUDA device: " + availability.reason());
        return CudaBackend.open(0);
    }

    /** A fresh seed per run, printed in failure messages so that a failure can be replayed. */
    public static long freshSeed() {
        return System.nanoTime() ^ 0x9E3779B97F4A7C15L;
    }

    public static float[] randomFloats(Random random, int count) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float) (random.nextGaussian());
        return values;
    }
}
