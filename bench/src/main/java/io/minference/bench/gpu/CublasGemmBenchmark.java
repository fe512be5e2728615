package io.minference.bench.gpu;

import io.minference.runtime.DType;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceTensor;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;

/** cuBLASLt bf16 GEMM (f32 accumulation, bf16 output) at size^3, on random data, in TFLOP/s. */
public final class CublasGemmBenchmark implements GpuBenchmark {
    private final int size;

    public CublasGemmBenchmark(int size) {
        this.size = size;
    }

    @Override
    public String name() {
        return "cuBLASLt bf16 GEMM " + size + "^3";
    }

    @Override
    public List<Figure> run(CudaBackend backend) {
        SplittableRandom random = new SplittableRandom();
        try (DeviceTensor a = randomBf16(backend, random);
             DeviceTensor b = randomBf16(backend, random);
             DeviceTensor c = DeviceTensor.allocate(backend.context(), DType.BF16, size, size)) {
            double millis = DeviceTimer.medianMillis(backend, 5, 20,
                    () -> backend.gemm().multiply(a, b, c, backend.stream()));
            double tflops = 2.0 * size * size * size / (millis * 1e-3) / 1e12;
            return List.of(new Figure("cuBLASLt bf16 GEMM " + size + "x" + size + "x" + size, tflops, "TFLOP/s"));
        }
    }

    private DeviceTensor randomBf16(CudaBackend backend, SplittableRandom random) {
        short[] values = new short[size * size];
        for (int i = 0; i < values.length; i++) values[i] = BFloat16.fromFloat((float) random.nextDouble(-1, 1));
        DeviceTensor tensor = DeviceTensor.allocate(backend.context(), DType.BF16, size, size);
        tensor.buffer().copyFromHost(MemorySegment.ofArray(values));
        return tensor;
    }
}
