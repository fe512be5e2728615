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
                double error = relativeError(backend.gemm(), shape[0], shape[1], shape[2], output, false);
                System.out.printf("cuBLASLt bf16 GEMM M=%d N=%d K=%d -> %s: relative error %.2e%n",
                        shape[0], shape[1], shape[2], output, error);
                // f32 output keeps f32 accumulation's accuracy; bf16 output adds one bf16 rounding
                double limit = output == DType.F32 ? 1e-4 : 1e-2;
                assertTrue(error <= limit, "relative error " + error + " for " + output + " output");
            }
        }
    }

    /**
     * ||C - C_ref|| / ||C_ref|| for fresh random bf16 inputs, against a float64 product of the same inputs; with
     * {@code captured}, the product is recorded into a CUDA graph and replayed.
     */
    static double relativeError(CublasLtGemm gemm, int m, int n, int k, DType output, boolean captured) {
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
            CudaStream stream = backend.stream();
            if (captured) {
                try (CudaGraph graph = stream.capture(() -> gemm.multiply(da, db, dc, stream))) {
                    graph.launch(stream);
                    stream.synchronize();
                }
            } else {
                gemm.multiply(da, db, dc, stream);
            }
            stream.synchronize();
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

    /** The accumulating product ({@link #checkAccumulation}) at three shapes, the heuristic's algorithms. */
    @Test
    void accumulationAddsTheProductIntoC() {
        for (int[] shape : new int[][] {{257, 384, 520}, {64, 1024, 4096}, {1, 256, 128}}) {
            checkAccumulation(backend.gemm(), shape[0], shape[1], shape[2]);
        }
    }

    /**
     * {@code C += A x B^T} into f32 C holding random values (a residual stream), against a float64 reference, with a
     * bound per element on its own scale (the sum of |a||b| over K plus |C|): an unwritten C fails it, since every
     * product is far above the bound.
     */
    private static void checkAccumulation(CublasLtGemm gemm, int m, int n, int k) {
        CudaContext context = backend.context();
        long seed = GpuTests.freshSeed();
        System.out.printf("cuBLASLt accumulation M=%d N=%d K=%d, seed %d%n", m, n, k, seed);
        Random random = new Random(seed);
        short[] a = randomBf16(random, m * k);
        short[] b = randomBf16(random, n * k);
        float[] c0 = new float[m * n];
        for (int i = 0; i < c0.length; i++) c0[i] = (float) (random.nextGaussian() * Math.sqrt(k));
        try (DeviceTensor da = DeviceTensor.allocate(context, DType.BF16, m, k);
             DeviceTensor db = DeviceTensor.allocate(context, DType.BF16, n, k);
             DeviceTensor dc = DeviceTensor.allocate(context, DType.F32, m, n)) {
            da.buffer().copyFromHost(MemorySegment.ofArray(a));
            db.buffer().copyFromHost(MemorySegment.ofArray(b));
            dc.buffer().copyFromHost(MemorySegment.ofArray(c0));
            gemm.multiplyAccumulate(da, db, dc, backend.stream());
            backend.stream().synchronize();
            double[] c = download(dc, m * n);
            double worst = 0;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = c0[i * n + j], scale = Math.abs(c0[i * n + j]);
                    for (int l = 0; l < k; l++) {
                        double p = (double) BFloat16.toFloat(a[i * k + l]) * BFloat16.toFloat(b[j * k + l]);
                        sum += p;
                        scale += Math.abs(p);
                    }
                    double error = Math.abs(c[i * n + j] - sum) / scale;
                    if (!(error <= 1e-5)) {
                        throw new AssertionError("C[" + i + "," + j + "] = " + c[i * n + j] + ", expected " + sum
                                + " (error " + error + " of its scale " + scale + "; seed " + seed + ")");
                    }
                    worst = Math.max(worst, error);
                }
            }
            System.out.printf("  worst error %.2e of the element's scale%n", worst);
        }
    }

    /**
     * With {@link CublasLtGemm#AUTOTUNE_PROPERTY}'s timing on, products of at least
     * {@link CublasLtGemm#AUTOTUNE_MIN_ROWS} rows (the ones timed) keep the reference's bounds, an accumulating C
     * gets its product added once (the timings write elsewhere), and a product first met under graph capture is not
     * timed there (a timing waits for the stream, which a capture forbids) but still right when replayed.
     */
    @Test
    void autotunedProductsKeepTheirBounds() {
        try (CublasLtGemm tuned = CublasLtGemm.create(backend.context(), true)) {
            for (DType output : new DType[] {DType.F32, DType.BF16}) {
                double error = relativeError(tuned, 1024, 384, 256, output, false);
                System.out.printf("autotuned cuBLASLt GEMM M=1024 N=384 K=256 -> %s: relative error %.2e%n", output,
                        error);
                assertTrue(error <= (output == DType.F32 ? 1e-4 : 1e-2), "relative error " + error);
            }
            checkAccumulation(tuned, 1280, 256, 512);
            double captured = relativeError(tuned, 1536, 256, 128, DType.F32, true);
            assertTrue(captured <= 1e-4, "relative error " + captured + " of a captured product");
            double afterwards = relativeError(tuned, 1536, 256, 128, DType.F32, false);
            assertTrue(afterwards <= 1e-4, "relative error " + afterwards + " once timed outside the capture");
        }
    }

    @Test
    void badOperandsAreRejectedBeforeCuBlas() {
        CudaContext context = backend.context();
        try (DeviceTensor a = DeviceTensor.allocate(context, DType.BF16, 4, 8);
             DeviceTensor b = DeviceTensor.allocate(context, DType.BF16, 16, 8);
             DeviceTensor wrongK = DeviceTensor.allocate(context, DType.BF16, 16, 9);
             DeviceTensor c = DeviceTensor.allocate(context, DType.F32, 4, 16);
             DeviceTensor bf16C = DeviceTensor.allocate(context, DType.BF16, 4, 16)) {
            IllegalArgumentException shapes = assertThrows(IllegalArgumentException.class,
                    () -> backend.gemm().multiply(a, wrongK, c, backend.stream()));
            assertTrue(shapes.getMessage().contains("matching shapes"), shapes.getMessage());
            IllegalArgumentException accumulation = assertThrows(IllegalArgumentException.class,
                    () -> backend.gemm().multiplyAccumulate(a, b, bf16C, backend.stream()));
            assertTrue(accumulation.getMessage().contains("F32 matrix C"), accumulation.getMessage());
        }
    }
}
