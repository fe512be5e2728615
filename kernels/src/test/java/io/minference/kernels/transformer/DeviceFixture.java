package io.minference.kernels.transformer;

import io.minference.runtime.DType;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaEvent;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.GpuTests;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;

/**
 * What the transformer kernels' GPU tests share: a backend on cuda:0 (skipping where CUDA is unusable), fresh random
 * inputs with their seed, device tensors poisoned with NaN bit patterns before a launch, and event timing.
 */
final class DeviceFixture implements AutoCloseable {
    /** A quiet NaN whose payload no arithmetic produces; as bf16 pairs, 0xDEAD and the NaN 0x7FC0. */
    static final int POISON = 0x7FC0DEAD;
    /** Two bf16 quiet NaNs. */
    static final int BF16_POISON = 0x7FC17FC1;

    final CudaBackend backend;
    final long seed = System.nanoTime() ^ 0x9E3779B97F4A7C15L;
    final Random random = new Random(seed);

    private DeviceFixture(CudaBackend backend) {
        this.backend = backend;
    }

    static DeviceFixture openOrSkip() {
        return new DeviceFixture(GpuTests.openOrSkip());
    }

    CudaStream stream() {
        return backend.stream();
    }

    float[] gaussians(int count, double scale) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float) (random.nextGaussian() * scale);
        return values;
    }

    /** Gaussians already rounded to bf16, so that host and device see the same values. */
    float[] bf16Gaussians(int count, double scale) {
        float[] values = gaussians(count, scale);
        for (int i = 0; i < count; i++) values[i] = BFloat16.round(values[i]);
        return values;
    }

    /** A device copy; the shape defaults to [values.length]. */
    DeviceTensor f32(float[] values, long... shape) {
        DeviceTensor t = DeviceTensor.allocate(backend.context(), DType.F32, shapeOr(shape, values.length));
        t.buffer().copyFromHost(MemorySegment.ofArray(values));
        return t;
    }

    /** A device copy rounded to bf16; the shape defaults to [values.length]. */
    DeviceTensor bf16(float[] values, long... shape) {
        short[] bits = new short[values.length];
        for (int i = 0; i < values.length; i++) bits[i] = BFloat16.fromFloat(values[i]);
        DeviceTensor t = DeviceTensor.allocate(backend.context(), DType.BF16, shapeOr(shape, values.length));
        t.buffer().copyFromHost(MemorySegment.ofArray(bits));
        return t;
    }

    private static long[] shapeOr(long[] shape, int length) {
        return shape.length == 0 ? new long[] {length} : shape;
    }

    DeviceTensor i32(int[] values) {
        DeviceTensor t = DeviceTensor.allocate(backend.context(), DType.I32, values.length);
        t.buffer().copyFromHost(MemorySegment.ofArray(values));
        return t;
    }

    /** An uninitialised tensor of {@code elements}, every 32-bit word set to {@code pattern}. */
    DeviceTensor poisoned(DType dtype, long elements, int pattern) {
        DeviceTensor t = DeviceTensor.allocate(backend.context(), dtype, elements);
        t.buffer().fillInts(pattern);
        return t;
    }

    float[] downloadF32(DeviceTensor t) {
        stream().synchronize();
        float[] values = new float[Math.toIntExact(t.elementCount())];
        t.buffer().copyToHost(MemorySegment.ofArray(values));
        return values;
    }

    short[] downloadBits(DeviceTensor t) {
        stream().synchronize();
        short[] bits = new short[Math.toIntExact(t.elementCount())];
        t.buffer().copyToHost(MemorySegment.ofArray(bits));
        return bits;
    }

    float[] downloadBf16(DeviceTensor t) {
        short[] bits = downloadBits(t);
        float[] values = new float[bits.length];
        for (int i = 0; i < bits.length; i++) values[i] = BFloat16.toFloat(bits[i]);
        return values;
    }

    int[] downloadI32(DeviceTensor t) {
        stream().synchronize();
        int[] values = new int[Math.toIntExact(t.elementCount())];
        t.buffer().copyToHost(MemorySegment.ofArray(values));
        return values;
    }

    /** The median milliseconds of {@code reps} timed runs of {@code work}, after two untimed ones. */
    double medianMillis(int reps, Runnable work) {
        work.run();
        work.run();
        double[] times = new double[reps];
        try (CudaEvent start = backend.context().createEvent(); CudaEvent end = backend.context().createEvent()) {
            for (int r = 0; r < reps; r++) {
                start.record(stream());
                work.run();
                end.record(stream());
                times[r] = end.elapsedMillisSince(start);
            }
        }
        Arrays.sort(times);
        return times[reps / 2];
    }

    String context() {
        return "seed " + seed + " on " + backend.device().name();
    }

    @Override
    public void close() {
        backend.close();
    }
}
