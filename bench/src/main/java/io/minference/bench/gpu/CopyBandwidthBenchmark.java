package io.minference.bench.gpu;

import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;

import java.util.List;

/** Device-to-device copy bandwidth (cuMemcpyDtoD on the stream), counting bytes read plus bytes written. */
public final class CopyBandwidthBenchmark implements GpuBenchmark {
    private static final long PREFERRED_BYTES = 1L << 30;

    @Override
    public String name() {
        return "device-to-device copy";
    }

    @Override
    public List<Figure> run(CudaBackend backend) {
        long bytes = Math.min(PREFERRED_BYTES, backend.context().memoryInfo().freeBytes() / 4) & ~0xFFFFFL;
        try (DeviceBuffer source = backend.context().allocate(bytes);
             DeviceBuffer destination = backend.context().allocate(bytes)) {
            source.fillInts(0x3F8CCCCD); // not zeros: real data, as the copy engine would see it
            double millis = DeviceTimer.medianMillis(backend, 3, 20,
                    () -> destination.copyFromAsync(source, backend.stream()));
            double gbPerSecond = 2.0 * bytes / (millis * 1e-3) / 1e9;
            return List.of(new Figure("device-to-device copy, " + (bytes >> 20) + " MiB (read+write)", gbPerSecond,
                    "GB/s"));
        }
    }
}
