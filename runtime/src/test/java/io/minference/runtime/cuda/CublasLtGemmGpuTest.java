package io.minference.runtime.cuda;

import io.minference.runtime.DType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("gpu")
public class CublasLtGemmGpuTest {
    private static CudaBackend backend;

    @BeforeAll
    static void open() {
        backend = GpuTests.openOrSkip();
    }

    @AfterAll
    static void close() {
        if (backend != null) backend.close();
    }

    @Test
    void bf16GemmMatchesAFloat64Reference() {
        int[][] shapes = {{257, 384, 520}, {64, 1024, 4096}, {1, 256, 128}};
        for (int[] shape : shapes) {
            for (DType output : new DType[] {DType.F32, DType.BF16}) {
                double error = relativeError(shape[0], shape[1], shape[2], output);
                System.out.printf("cuBLASLt bf16 GEMM M=%d N=%d K=%d -> %s: relative error %.2e%n",
                        shape[0], shape[1], shape[2], output, error);
                // f32 output keeps f32 accumulation's accuracy; bf16 output adds one bf16 rounding
                double limit = output == DType.F32 ? 1e-4 : 1e-2;
                assertTrue(error <= limit, "relative error " + error + " for " + output + " output");
            }
        }
    }

    /** ||C - C_ref|| / ||C_ref|| for fresh random bf16 inputs, against a float64 product of the same inputs. */
    static double relativeError(int m, int n, int k, DType output) {
        long seed = GpuTests.freshSeed();
        Random random = new Random(seed);
        short[] a = randomBf16(random, m * k);
        short[] b = randomBf16(random, n * k);
        CudaContext context = backend.context();
        try (DeviceTensor da = DeviceTensor.allocate(context, DType.BF16, m, k);
             DeviceTensor db = DeviceTensor.allocate(context, DType.BF16, n, k);
             DeviceTensor dc = DeviceTensor.allocate(context, output, m, n)) {
            da.buffer().copyFromHost(MemorySegment.ofArray(a));
            db.buffer().copyFromHost(MemorySegment.ofArray(b));
            dc.buffer().fillBytes((byte) 0xFF); // NaN in either output type
            backend.gemm().multiply(da, db, dc, backend.stream());
            backend.stream().synchronize();
            double[] c = download(dc, m * n);
            double diff = 0, norm = 0;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int l = 0; l < k; l++) {
                        sum += (double) BFloat16.toFloat(a[i * k + l]) * BFloat16.toFloat(b[j * k + l]);
                    }
                    double d = c[i * n + j] - sum;
                    if (Double.isNaN(d)) throw new AssertionError("unwritten or NaN output at " + i + "," + j
                            + " (seed " + seed + ")");
                    diff += d * d;
                    norm += sum * sum;
                }
            return Math.sqrt(diff / norm);
        }
    }

    public static short[] randomBf16(Random random, int count) {
        short[] values = new short[count];
        for (int i = 0; i < count; i++) values[i] = BFloat16.fromFloat((float) random.nextGaussian());
        return values;
    }

    public static double[] download(DeviceTensor tensor, int count) {
        double[] values = new double[count];
        if (tensor.dtype() == DType.F32) {
            float[] floats = new float[count];
            tensor.buffer().copyToHost(MemorySegment.ofArray(floats));
            for (int i = 0; i < count; i++) values[i] = floats[i];
        } else {
            short[] bits = new short[count];
            tensor.buffer().copyToHost(MemorySegment.ofArray(bits));
            for (int i = 0; i < count; i++) values[i] = BFloat16.toFloat(bits[i]);
        }
        return values;
    }

    @Test
    void mismatchedShapesAreRejectedBeforeCuBlas() {
        CudaContext context = backend.context();
        try (DeviceTensor a = DeviceTensor.allocate(context, DType.BF16, 4, 8);
             DeviceTensor b = DeviceTensor.allocate(context, DType.BF16, 16, 9);
             DeviceTensor c = DeviceTensor.allocate(context, DType.F32, 4, 16)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> backend.gemm().multiply(a, b, c, backend.stream()));
            assertTrue(e.getMessage().contains("matching shapes"), e.getMessage());
        }
    }
}
