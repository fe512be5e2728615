package io.minference.bench.jmh;

import io.minference.ptx.KernelSource;
import io.minference.ptx.PtxTarget;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaGraph;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.KernelArgs;
import io.minference.runtime.cuda.LaunchShape;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The cost of a kernel launch: {@link #LAUNCHES} launches of an empty kernel per invocation, then a wait, either
 * launched one by one (eager) or replayed from one CUDA graph holding them all; reported per launch.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class LaunchJmh {
    public static final int LAUNCHES = 1000;

    private static final KernelSource EMPTY = new KernelSource("empty_kernel", List.of(), """
            .version 8.0
            .target sm_80
            .address_size 64

            .visible .entry empty_kernel()
            {
                ret;
            }
            """, PtxTarget.SM_80, 0);

    private CudaBackend backend;
    private CudaStream stream;
    private Kernel empty;
    private KernelArgs none;
    private CudaGraph graph;

    @Setup(Level.Trial)
    public void open() {
        backend = GpuSession.open();
        stream = backend.stream();
        empty = backend.context().kernel(EMPTY, LaunchShape.of(1, 32));
        none = empty.pack();
        graph = stream.capture(this::launchAll);
    }

    private void launchAll() {
        for (int i = 0; i < LAUNCHES; i++) empty.launch(stream, none);
    }

    @TearDown(Level.Trial)
    public void close() {
        graph.close();
        none.close();
        backend.close();
    }

    @Benchmark
    @OperationsPerInvocation(LAUNCHES)
    public void eager() {
        launchAll();
        stream.synchronize();
    }

    @Benchmark
    @OperationsPerInvocation(LAUNCHES)
    public void graphReplay() {
        graph.launch(stream);
        stream.synchronize();
    }
}
