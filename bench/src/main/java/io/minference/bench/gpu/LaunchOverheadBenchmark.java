package io.minference.bench.gpu;

import io.minference.ptx.KernelSource;
import io.minference.ptx.PtxTarget;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaGraph;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.KernelArgs;
import io.minference.runtime.cuda.LaunchShape;

import java.util.List;

/**
 * The cost of launching an empty kernel: 1000 eager launches, and the same 1000 launches captured into one CUDA
 * graph and replayed; host wall time from the first launch to the end of the work, per kernel, median of repeats.
 */
public final class LaunchOverheadBenchmark implements GpuBenchmark {
    private static final int LAUNCHES = 1000;
    private static final int REPEATS = 9;

    static final KernelSource EMPTY = new KernelSource("empty_kernel", List.of(), """
            .version 8.0
            .target sm_80
            .address_size 64

            .visible .entry empty_kernel()
            {
                ret;
            }
            """, PtxTarget.SM_80, 0);

    @Override
    public String name() {
        return "launch overhead";
    }

    @Override
    public List<Figure> run(CudaBackend backend) {
        CudaStream stream = backend.stream();
        Kernel kernel = backend.context().kernel(EMPTY, LaunchShape.of(1, 32));
        try (KernelArgs none = kernel.pack()) {
            Runnable launches = () -> {
                for (int i = 0; i < LAUNCHES; i++) kernel.launch(stream, none);
            };
            double eager = microsPerKernel(stream, launches);
            double eagerDevice = DeviceTimer.medianMillis(backend, 1, REPEATS, launches) * 1e3 / LAUNCHES;
            try (CudaGraph graph = stream.capture(launches)) {
                double replayed = microsPerKernel(stream, () -> graph.launch(stream));
                return List.of(new Figure("eager launch, empty kernel, host wall per launch", eager, "us"),
                        new Figure("eager launch, empty kernel, device time per launch", eagerDevice, "us"),
                        new Figure("CUDA graph of 1000 empty kernels, wall per kernel", replayed, "us"));
            }
        }
    }

    private static double microsPerKernel(CudaStream stream, Runnable work) {
        work.run();
        stream.synchronize();
        double[] micros = new double[REPEATS];
        for (int r = 0; r < REPEATS; r++) {
            long start = System.nanoTime();
            work.run();
            stream.synchronize();
            micros[r] = (System.nanoTime() - start) / 1e3 / LAUNCHES;
        }
        return DeviceTimer.median(micros);
    }
}
