package io.minference.kernels.samples;

import io.minference.ptx.PtxTarget;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.LaunchShape;
import io.minference.runtime.cuda.TensorMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Hopper data paths one at a time, so that a layout or descriptor mistake shows in one GPU call: a TMA round
 * trip (tensor map, barrier transaction count, swizzle formula) compared bit for bit, and one 128 x 128 tile of
 * {@code S = Q Kᵀ} and {@code O = X V} through wgmma against float64. Skipped below sm_90.
 */
@Tag("gpu")
class HopperSamplesGpuTest {
    private static GpuFixture gpu;

    @BeforeAll
    static void open() {
        gpu = GpuFixture.openOrSkip(PtxTarget.SM_90A);
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
    }

    @ParameterizedTest(name = "{0} rows x {1} heads x {2}, box {3}")
    @CsvSource({"1000, 3, 128, 128", "128, 1, 128, 128", "77, 2, 64, 64", "4097, 8, 128, 64"})
    void tmaRoundTripIsBitExact(int rows, int heads, int width, int boxRows) {
        short[] input = new short[rows * heads * width];
        for (int i = 0; i < input.length; i++) input[i] = (short) gpu.random.nextInt(1 << 16);
        TmaTileCopy copy = new TmaTileCopy(boxRows, width);
        Kernel kernel = gpu.kernel(copy, new LaunchShape((rows + boxRows - 1) / boxRows, heads, 1,
                TmaTileCopy.THREADS, 1, 1));
        try (DeviceBuffer source = gpu.upload(input);
             DeviceBuffer out = gpu.poisoned((input.length + 1) / 2 + 1)) {
            TensorMap map = TensorMap.headRows(gpu.backend.context().driver(), source, rows, heads, width, boxRows);
            kernel.launch(gpu.backend.stream(), map, out, rows, heads);
            gpu.backend.stream().synchronize();
            short[] result = new short[input.length];
            out.copyToHost(MemorySegment.ofArray(result));
            int mismatches = 0;
            StringBuilder firstFew = new StringBuilder();
            for (int i = 0; i < input.length; i++) {
                if (input[i] != result[i]) {
                    if (mismatches++ < 8) {
                        int column = i % width, head = i / width % heads, row = i / width / heads;
                        firstFew.append("\n  row ").append(row).append(" head ").append(head).append(" column ")
                                .append(column).append(": expected 0x").append(Integer.toHexString(input[i] & 0xFFFF))
                                .append(", got 0x").append(Integer.toHexString(result[i] & 0xFFFF));
                    }
                }
            }
            System.out.printf("TMA round trip %d x %d x %d, box %d: %d mismatches%n", rows, heads, width, boxRows,
                    mismatches);
            assertEquals(0, mismatches, "elements differ (" + gpu.context() + "):" + firstFew);
            short[] tail = new short[2];
            out.slice(2L * input.length, 4).copyToHost(MemorySegment.ofArray(tail));
            assertEquals(GpuFixture.POISON, (tail[1] << 16) | (tail[0] & 0xFFFF), "wrote past the output");
        }
    }

    @Test
    void oneWgmmaTileMatchesFloat64() {
        int n = WgmmaTileProduct.SIZE;
        short[] q = randomBf16(n * n), key = randomBf16(n * n), value = randomBf16(n * n);
        Kernel kernel = gpu.kernel(new WgmmaTileProduct(), LaunchShape.of(1, WgmmaTileProduct.THREADS));
        try (DeviceBuffer dq = gpu.upload(q); DeviceBuffer dk = gpu.upload(key); DeviceBuffer dv = gpu.upload(value);
             DeviceBuffer ds = gpu.poisoned((long) n * n); DeviceBuffer dout = gpu.poisoned((long) n * n)) {
            var driver = gpu.backend.context().driver();
            kernel.launch(gpu.backend.stream(), TensorMap.headRows(driver, dq, n, 1, n, n),
                    TensorMap.headRows(driver, dk, n, 1, n, n), TensorMap.headRows(driver, dv, n, 1, n, n), dq, ds,
                    dout);
            float[] s = gpu.download(ds, n * n);
            float[] o = gpu.download(dout, n * n);
            // S[i][j] = sum_d Q[i][d] K[j][d]; O[i][j] = sum_p Q[i][p] V[p][j]
            check("S = Q K^T", s, n, (i, j) -> {
                double sum = 0;
                for (int d = 0; d < n; d++) sum += (double) bf(q[i * n + d]) * bf(key[j * n + d]);
                return sum;
            });
            check("O = X V (A from registers, B transposed)", o, n, (i, j) -> {
                double sum = 0;
                for (int p = 0; p < n; p++) sum += (double) bf(q[i * n + p]) * bf(value[p * n + j]);
                return sum;
            });
        }
    }

    private interface Reference {
        double at(int row, int column);
    }

    /** Per-row maximum error against a bound of 1e-5 of the row's magnitude; prints the worst rows and where. */
    private static void check(String what, float[] got, int n, Reference reference) {
        double worstRatio = 0;
        StringBuilder report = new StringBuilder();
        for (int i = 0; i < n; i++) {
            double maxError = 0, scale = 1e-30;
            int where = -1;
            for (int j = 0; j < n; j++) {
                double expected = reference.at(i, j);
                double error = Float.isFinite(got[i * n + j]) ? Math.abs(got[i * n + j] - expected)
                        : Double.POSITIVE_INFINITY;
                scale = Math.max(scale, Math.abs(expected));
                if (error > maxError) {
                    maxError = error;
                    where = j;
                }
            }
            double ratio = maxError / (1e-5 * scale * Math.sqrt(n));
            if (ratio > 1 && report.length() < 2000) {
                report.append("\n  row ").append(i).append(": max error ").append(maxError).append(" at column ")
                        .append(where).append(" (got ").append(got[i * n + where]).append(", expected ")
                        .append(reference.at(i, where)).append(")");
            }
            worstRatio = Math.max(worstRatio, ratio);
        }
        System.out.printf("%s: worst row error / bound %.3f%n", what, worstRatio);
        assertTrue(worstRatio <= 1, what + " off (" + gpu.context() + "):" + report);
    }

    private static float bf(short bits) {
        return BFloat16.toFloat(bits);
    }

    private static short[] randomBf16(int count) {
        short[] values = new short[count];
        for (int i = 0; i < count; i++) values[i] = BFloat16.fromFloat((float) gpu.random.nextGaussian());
        return values;
    }
}
