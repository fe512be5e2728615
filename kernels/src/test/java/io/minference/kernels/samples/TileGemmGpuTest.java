package io.minference.kernels.samples;

import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.LaunchShape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The tensor-core tile GEMM on a real GPU: {@code C = A x B^T} with bf16 inputs and f32 output, against a float64
 * product of the same bf16-rounded inputs (norm-wise relative error at most 1e-3; f32 accumulation lands far under).
 */
@Tag("gpu")
class TileGemmGpuTest {
    private static GpuFixture gpu;

    @BeforeAll
    static void open() {
        gpu = GpuFixture.openOrSkip();
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
    }

    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of(TileGemm.bf16(), 128, 128, 64),
                Arguments.of(TileGemm.bf16(), 512, 384, 1024),
                Arguments.of(new TileGemm(128, 128, 64, 2, 4, 2), 256, 384, 576),
                Arguments.of(TileGemm.bf16(), 128, 256, 128),
                Arguments.of(new TileGemm(128, 256, 64, 2, 4, 3), 256, 512, 320),
                Arguments.of(new TileGemm(256, 128, 64, 4, 2, 3), 512, 256, 192),
                Arguments.of(new TileGemm(128, 256, 64, 2, 4, 4), 128, 256, 448));
    }

    @ParameterizedTest(name = "{1}x{2}x{3} with {0}")
    @MethodSource("shapes")
    void matchesFloat64(TileGemm gemm, int m, int n, int k) {
        short[] a = randomBf16(m * k), b = randomBf16(n * k);
        LaunchShape shape = new LaunchShape(n / gemm.blockN(), m / gemm.blockM(), 1, gemm.threads(), 1, 1);
        Kernel kernel = gpu.kernel(gemm, shape);
        try (DeviceBuffer da = gpu.upload(a); DeviceBuffer db = gpu.upload(b);
             DeviceBuffer dc = gpu.poisoned((long) m * n + 1)) {
            kernel.launch(gpu.backend.stream(), da, db, dc, m, n, k);
            float[] c = gpu.download(dc, m * n + 1);
            double[] aWide = widen(a), bWide = widen(b);
            double errorSq = 0, normSq = 0;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double expected = 0;
                    for (int p = 0; p < k; p++) expected += aWide[i * k + p] * bWide[j * k + p];
                    float got = c[i * n + j];
                    if (!Float.isFinite(got)) fail("C[" + i + "][" + j + "] not written: " + got + "; " + gpu.context());
                    errorSq += (got - expected) * (got - expected);
                    normSq += expected * expected;
                }
            }
            double relative = Math.sqrt(errorSq / normSq);
            System.out.printf("TileGemm %dx%dx%d (%s): norm-wise relative error %.2e%n", m, n, k, gemm.entryName(),
                    relative);
            assertTrue(relative <= 1e-3, "relative error " + relative + "; " + gpu.context());
            assertTrue(Float.isNaN(c[m * n]), "wrote past C");
        }
    }

    private short[] randomBf16(int count) {
        short[] values = new short[count];
        for (int i = 0; i < count; i++) values[i] = BFloat16.fromFloat((float) gpu.random.nextGaussian());
        return values;
    }

    private static double[] widen(short[] bf16) {
        double[] values = new double[bf16.length];
        for (int i = 0; i < bf16.length; i++) values[i] = BFloat16.toFloat(bf16[i]);
        return values;
    }
}
