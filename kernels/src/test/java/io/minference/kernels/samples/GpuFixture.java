package io.minference.kernels.samples;

import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.GpuTests;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.LaunchShape;

import java.lang.foreign.MemorySegment;
import java.util.Random;

/**
 * What the sample kernels' GPU tests share: a backend on cuda:0 (the test skips where CUDA is unusable), fresh
 * random inputs with their seed, and device buffers poisoned with a NaN bit pattern before every run so that an
 * element the kernel failed to write can never pass for a right one.
 */
final class GpuFixture implements AutoCloseable {
    /** A quiet NaN whose payload no arithmetic produces. */
    static final int POISON = 0x7FC0DEAD;

    final CudaBackend backend;
    final long seed = System.nanoTime() ^ 0x9E3779B97F4A7C15L;
    final Random random = new Random(seed);

    private GpuFixture(CudaBackend backend) {
        this.backend = backend;
    }

    static GpuFixture openOrSkip() {
        return new GpuFixture(GpuTests.openOrSkip());
    }

    /** Skips also where the device cannot run {@code minimum}'s PTX, for tests of one architecture's paths. */
    static GpuFixture openOrSkip(PtxTarget minimum) {
        return new GpuFixture(GpuTests.openOrSkip(minimum));
    }

    /** The kernel emitted for this device's target, bound to {@code shape}. */
    Kernel kernel(KernelDefinition definition, LaunchShape shape) {
        return backend.context().kernel(definition.emit(backend.device().ptxTarget()), shape);
    }

    float[] gaussians(int count) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float) random.nextGaussian();
        return values;
    }

    DeviceBuffer upload(float[] values) {
        DeviceBuffer buffer = backend.context().allocate(4L * values.length);
        buffer.copyFromHost(MemorySegment.ofArray(values));
        return buffer;
    }

    DeviceBuffer upload(short[] values) {
        DeviceBuffer buffer = backend.context().allocate(2L * values.length);
        buffer.copyFromHost(MemorySegment.ofArray(values));
        return buffer;
    }

    DeviceBuffer poisoned(long floats) {
        DeviceBuffer buffer = backend.context().allocate(4 * floats);
        buffer.fillInts(POISON);
        return buffer;
    }

    /** Waits for the queued work, then copies {@code count} floats back. */
    float[] download(DeviceBuffer buffer, int count) {
        backend.stream().synchronize();
        float[] values = new float[count];
        buffer.copyToHost(MemorySegment.ofArray(values));
        return values;
    }

    String context() {
        return "seed " + seed + " on " + backend.device().name();
    }

    @Override
    public void close() {
        backend.close();
    }
}
