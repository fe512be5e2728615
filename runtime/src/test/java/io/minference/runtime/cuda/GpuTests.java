package io.minference.runtime.cuda;

import io.minference.ptx.PtxTarget;

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

    /**
     * A backend on cuda:0 whose device runs {@code minimum}'s PTX, or a skip. The backend is closed before the skip
     * because the caller never receives it, so its {@code @AfterAll} could not close it.
     */
    public static CudaBackend openOrSkip(PtxTarget minimum) {
        CudaBackend backend = openOrSkip();
        CudaDevice device = backend.device();
        boolean runs = device.runs(minimum);
        if (!runs) backend.close();
        assumeTrue(runs, () -> "needs " + minimum.arch() + ", have " + device);
        return backend;
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
