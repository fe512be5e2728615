package io.minference.bench.gpu;

import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaEvent;
import io.minference.runtime.cuda.CudaStream;

import java.util.Arrays;

/** Times queued device work with CUDA events: warm-up runs first, then the median of the timed repeats. */
final class DeviceTimer {
    private DeviceTimer() {
    }

    /** Median milliseconds of {@code work}, which queues its work on the backend's stream. */
    static double medianMillis(CudaBackend backend, int warmups, int repeats, Runnable work) {
        CudaStream stream = backend.stream();
        for (int i = 0; i < warmups; i++) work.run();
        stream.synchronize();
        double[] millis = new double[repeats];
        try (CudaEvent start = backend.context().createEvent(); CudaEvent end = backend.context().createEvent()) {
            for (int i = 0; i < repeats; i++) {
                start.record(stream);
                work.run();
                end.record(stream);
                millis[i] = end.elapsedMillisSince(start);
            }
        }
        return median(millis);
    }

    /**
     * Median milliseconds per launch of {@code work} run {@code launches} times back to back between two events, after
     * {@code warmups} runs: the host queues launch i + 1 while the GPU runs launch i, so a short kernel is timed
     * without the host's per-call work (argument packing, tensor-map encoding) and without the idle gap a single
     * launch between events leaves when the JIT has not compiled that host path yet.
     */
    static double medianMillisPerLaunch(CudaBackend backend, int warmups, int repeats, int launches, Runnable work) {
        return medianMillis(backend, warmups, repeats, () -> {
            for (int i = 0; i < launches; i++) work.run();
        }) / launches;
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
