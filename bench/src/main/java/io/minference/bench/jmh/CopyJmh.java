package io.minference.bench.jmh;

import io.minference.kernels.samples.CopyBandwidth;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.KernelArgs;
import io.minference.runtime.cuda.LaunchShape;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;

/**
 * One device-to-device copy of {@link #BYTES} per operation, waited for: by the copy engine (cuMemcpyDtoD) and by
 * the DSL's 16-byte copy kernel ({@link CopyBandwidth}, unroll 4, 8 blocks per SM). Bandwidth counts bytes read
 * plus bytes written: {@code 2 * BYTES / time}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class CopyJmh {
    public static final long BYTES = 1L << 30;

    private CudaBackend backend;
    private DeviceBuffer source;
    private DeviceBuffer destination;
    private Kernel copyKernel;
    private KernelArgs copyArgs;

    @Setup(Level.Trial)
    public void open() {
        backend = GpuSession.open();
        source = backend.context().allocate(BYTES);
        destination = backend.context().allocate(BYTES);
        source.fillInts(0x3F8CCCCD);
        LaunchShape shape = LaunchShape.of(8 * backend.device().multiprocessorCount(), CopyBandwidth.BLOCK);
        copyKernel = backend.context().kernel(new CopyBandwidth(4).emit(backend.device().ptxTarget()), shape);
        copyArgs = copyKernel.pack(source, destination, Math.toIntExact(BYTES / 16));
    }

    @TearDown(Level.Trial)
    public void close() {
        copyArgs.close();
        destination.close();
        source.close();
        backend.close();
    }

    @Benchmark
    public void memcpyDtoD() {
        destination.copyFromAsync(source, backend.stream());
        backend.stream().synchronize();
    }

    @Benchmark
    public void dslCopyKernel() {
        copyKernel.launch(backend.stream(), copyArgs);
        backend.stream().synchronize();
    }
}
