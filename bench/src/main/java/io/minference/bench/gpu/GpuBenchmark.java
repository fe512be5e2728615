package io.minference.bench.gpu;

import io.minference.runtime.cuda.CudaBackend;

import java.util.List;

/** A measurement on an open CUDA backend; {@link io.minference.bench.GpuBench} runs a list of them. */
public interface GpuBenchmark {
    /** What it measures, for error messages. */
    String name();

    List<Figure> run(CudaBackend backend);
}
