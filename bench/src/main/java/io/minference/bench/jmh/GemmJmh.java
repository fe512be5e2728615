package io.minference.bench.jmh;

import io.minference.kernels.samples.TileGemm;
import io.minference.runtime.DType;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceTensor;
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

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One {@link #SIZE}^3 bf16 matrix product with f32 output per operation, waited for, on random inputs: the DSL's
 * tile GEMM ({@link TileGemm#bf16()}) and cuBLASLt. Rate: {@code 2 * SIZE^3 / time}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class GemmJmh {
    public static final int SIZE = 4096;

    private CudaBackend backend;
    private DeviceTensor a;
    private DeviceTensor b;
    private DeviceTensor c;
    private Kernel tileGemm;
    private KernelArgs tileGemmArgs;

    @Setup(Level.Trial)
    public void open() {
        backend = GpuSession.open();
        SplittableRandom random = new SplittableRandom();
        a = randomBf16(random);
        b = randomBf16(random);
        c = DeviceTensor.allocate(backend.context(), DType.F32, SIZE, SIZE);
        TileGemm gemm = TileGemm.bf16();
        LaunchShape shape = new LaunchShape(SIZE / gemm.blockN(), SIZE / gemm.blockM(), 1, gemm.threads(), 1, 1);
        tileGemm = backend.context().kernel(gemm.emit(backend.device().ptxTarget()), shape);
        tileGemmArgs = tileGemm.pack(a, b, c, SIZE, SIZE, SIZE);
    }

    private DeviceTensor randomBf16(SplittableRandom random) {
        short[] values = new short[SIZE * SIZE];
        for (int i = 0; i < values.length; i++) values[i] = BFloat16.fromFloat((float) random.nextDouble(-1, 1));
        DeviceTensor tensor = DeviceTensor.allocate(backend.context(), DType.BF16, SIZE, SIZE);
        tensor.buffer().copyFromHost(MemorySegment.ofArray(values));
        return tensor;
    }

    @TearDown(Level.Trial)
    public void close() {
        tileGemmArgs.close();
        c.close();
        b.close();
        a.close();
        backend.close();
    }

    @Benchmark
    public void dslTileGemm() {
        tileGemm.launch(backend.stream(), tileGemmArgs);
        backend.stream().synchronize();
    }

    @Benchmark
    public void cublasLt() {
        backend.gemm().multiply(a, b, c, backend.stream());
        backend.stream().synchronize();
    }
}
