package io.minference.bench.jmh;

import io.minference.runtime.cuda.CudaAvailability;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaDriver;

/** Opens cuda:0 for a benchmark trial, failing with the reason (not a driver stack trace) where CUDA is unusable. */
final class GpuSession {
    private GpuSession() {
    }

    static CudaBackend open() {
        CudaAvailability availability = CudaDriver.availability();
        if (!availability.available()) {
            throw new IllegalStateException("GPU benchmarks need CUDA: " + availability.reason());
        }
        return CudaBackend.open(0);
    }
}
