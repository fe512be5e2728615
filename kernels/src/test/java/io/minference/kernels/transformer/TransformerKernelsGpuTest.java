package io.minference.kernels.transformer;

import io.minference.kernels.cpu.RmsNorm;
import io.minference.kernels.cpu.Rope;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.DeviceTensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The transformer kernels on a real GPU against their CPU twins, on fresh random inputs (the seed is in every failure
 * message), with outputs poisoned before each launch. Exact where the kernel's arithmetic is exact (gather, residual
 * add, argmax); elsewhere each bf16 output must lie within one bf16 ulp of the twin's f32 value, and the norm-wise
 * relative error against a float64 reference must be that of bf16 rounding.
 */
@Tag("gpu")
class TransformerKernelsGpuTest {
    private static DeviceFixture gpu;

    @BeforeAll
    static void open() {
        gpu = DeviceFixture.openOrSkip();
        System.out.println("transformer kernels on " + gpu.backend.device());
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
    }

    /** One bf16 ulp at |x|: 8 significant bits. */
    private static double bf16Ulp(double x) {
        return Math.ulp((float) Math.abs(x)) * 65536.0;
    }

    private static void assertWithinBf16Ulp(float[] expected, float[] actual, int count, double absolute, String what) {
        for (int i = 0; i < count; i++) {
            double e = expected[i], a = actual[i];
            if (!(Math.abs(a - e) <= bf16Ulp(Math.max(Math.abs(e), Math.abs(a))) + absolute)) {
                fail(what + "[" + i + "] = " + a + ", expected " + e + " within one bf16 ulp; " + gpu.context());
            }
        }
    }

    private static double relativeError(double[] reference, float[] actual) {
        double diff = 0, norm = 0;
        for (int i = 0; i < reference.length; i++) {
            diff += (actual[i] - reference[i]) * (actual[i] - reference[i]);
            norm += reference[i] * reference[i];
        }
        return Math.sqrt(diff / norm);
    }

    @Test
    void embeddingGatherWidensRowsExactlyAndNaNsOutOfRangeIds() {
        int vocab = 517, dim = 392, tokens = 37;
        float[] table = gpu.bf16Gaussians(vocab * dim, 1);
        int[] ids = new int[tokens];
        for (int t = 0; t < tokens; t++) ids[t] = gpu.random.nextInt(vocab);
        ids[5] = -3;
        ids[20] = vocab;
        int[] valid = ids.clone();
        valid[5] = valid[20] = 0;
        try (DeviceTensor dTable = gpu.bf16(table, vocab, dim); DeviceTensor dIds = gpu.i32(ids);
             DeviceTensor out = gpu.poisoned(DType.F32, (long) (tokens + 1) * dim, DeviceFixture.POISON);
             Tensor hTable = Tensor.ofFloats(table, vocab, dim); Tensor expected = Tensor.allocate(DType.F32, tokens, dim)) {
            new EmbeddingGather().launch(gpu.stream(), dTable, dIds, out, tokens);
            float[] got = gpu.downloadF32(out);
            io.minference.kernels.cpu.EmbeddingGather.apply(hTable, valid, 0, tokens, expected);
            float[] want = expected.toFloatArray();
            for (int t = 0; t < tokens; t++) {
                for (int j = 0; j < dim; j++) {
                    float g = got[t * dim + j];
                    if (t == 5 || t == 20) {
                        assertTrue(Float.isNaN(g), "row of a bad id must be NaN; " + gpu.context());
                    } else if (Float.floatToRawIntBits(g) != Float.floatToRawIntBits(want[t * dim + j])) {
                        fail("out[" + t + "][" + j + "] = " + g + ", expected " + want[t * dim + j] + "; " + gpu.context());
                    }
                }
            }
            for (int j = 0; j < dim; j++) {
                assertEquals(DeviceFixture.POISON, Float.floatToRawIntBits(got[tokens * dim + j]), "wrote past the rows");
            }
        }
    }

    @Test
    void rmsNormToBf16MatchesTheTwins() {
        for (int dim : new int[] {392, 4096}) {
            int rows = 33;
            float eps = 1e-5f;
            float[] x = gpu.gaussians(rows * dim, 3);
            float[] w = gpu.gaussians(dim, 0.2);
            for (int j = 0; j < dim; j++) w[j] += 1;
            RmsNormToBf16 kernel = RmsNormToBf16.plain();
            try (DeviceTensor dx = gpu.f32(x); DeviceTensor dw = gpu.f32(w);
                 DeviceTensor out = gpu.poisoned(DType.BF16, (long) (rows + 1) * dim, DeviceFixture.BF16_POISON);
                 Tensor hx = Tensor.ofFloats(x, rows, dim); Tensor hw = Tensor.ofFloats(w, dim);
                 Tensor hy = Tensor.allocate(DType.F32, rows, dim)) {
                kernel.launch(gpu.stream(), dx, dw, out, rows, eps);
                float[] got = gpu.downloadBf16(out);
                assertArrayEquals(x, gpu.downloadF32(dx), "the residual stream is only read; " + gpu.context());
                RmsNorm.apply(hx, hw, hy, rows, eps);
                assertWithinBf16Ulp(hy.toFloatArray(), got, rows * dim, 0, "RMSNorm out, dim " + dim);
                for (int j = 0; j < dim; j++) assertTrue(Float.isNaN(got[rows * dim + j]), "wrote past the rows");

                double[] reference = new double[rows * dim];
                for (int r = 0; r < rows; r++) {
                    double squares = 0;
                    for (int j = 0; j < dim; j++) squares += (double) x[r * dim + j] * x[r * dim + j];
                    double scale = 1 / Math.sqrt(squares / dim + eps);
                    for (int j = 0; j < dim; j++) reference[r * dim + j] = x[r * dim + j] * scale * w[j];
                }
                float[] gotRows = Arrays.copyOf(got, rows * dim);
                double error = relativeError(reference, gotRows);
                assertTrue(error < 4e-3, "norm-wise error " + error + "; " + gpu.context());
            }
        }
    }

    @Test
    void rmsNormBandwidth() {
        int rows = 8192, dim = 4096;
        long n = (long) rows * dim;
        RmsNormToBf16 kernel = RmsNormToBf16.plain();
        try (DeviceTensor x = gpu.f32(gpu.gaussians((int) n, 1)); DeviceTensor w = gpu.f32(gpu.gaussians(dim, 1));
             DeviceTensor out = gpu.poisoned(DType.BF16, n, DeviceFixture.BF16_POISON)) {
            double ms = gpu.medianMillis(20, () -> kernel.launch(gpu.stream(), x, w, out, rows, 1e-5f));
            long bytes = n * (4 + 2);
            System.out.printf("BENCH %s rows %d dim %d: %.1f us, %.0f GB/s (%d MB moved)%n", kernel.entryName(), rows,
                    dim, ms * 1e3, bytes / (ms * 1e6), bytes >> 20);
            float[] sample = gpu.downloadBf16(out);
            for (int i = 0; i < sample.length; i += 4093) assertTrue(Float.isFinite(sample[i]), "out[" + i + "]");
        }
    }

    record RopeCase(int heads, int kvHeads, int headDim, int start, int tokens, float theta, boolean llama31) {
    }

    @ParameterizedTest(name = "case {0}, start on the device {1}")
    @CsvSource({"0, false", "1, false", "2, false", "0, true", "1, true", "2, true"})
    void ropeKvWriteMatchesItsTwin(int which, boolean startOnDevice) {
        RopeCase c = switch (which) {
            case 0 -> new RopeCase(32, 8, 128, 4000, 19, 500000f, true);
            case 1 -> new RopeCase(6, 2, 64, 1_000_003, 50, 500000f, true);
            default -> new RopeCase(8, 4, 8, 77, 5, 10000f, false);
        };
        RopeKvWrite byValue = new RopeKvWrite(c.heads(), c.kvHeads(), c.headDim());
        RopeKvWrite kernel = startOnDevice ? byValue.withStartOnDevice() : byValue;
        float[] factors = c.llama31() ? RopeFrequencies.llama31Factors(c.headDim(), c.theta(), 8, 1, 4, 8192) : null;
        int capacity = c.start() + c.tokens() + 2;
        int kv = kernel.kvWidth();
        float[] qkv = gpu.bf16Gaussians(c.tokens() * kernel.rowWidth(), 1);
        try (DeviceTensor dQkv = gpu.bf16(qkv); DeviceTensor freqs = gpu.f32(RopeFrequencies.table(c.headDim(), c.theta(), factors));
             DeviceTensor q = gpu.poisoned(DType.BF16, (long) c.tokens() * kernel.qWidth(), DeviceFixture.BF16_POISON);
             DeviceTensor kCache = gpu.poisoned(DType.BF16, (long) capacity * kv, DeviceFixture.POISON);
             DeviceTensor vCache = gpu.poisoned(DType.BF16, (long) capacity * kv, DeviceFixture.POISON);
             Tensor hQkv = Tensor.allocate(DType.BF16, c.tokens(), kernel.rowWidth());
             Tensor hq = Tensor.allocate(DType.BF16, c.tokens(), kernel.qWidth());
             Tensor hk = Tensor.allocate(DType.BF16, capacity, kv); Tensor hv = Tensor.allocate(DType.BF16, capacity, kv)) {
            if (startOnDevice) {
                try (DeviceTensor startAt = gpu.i32(new int[] {c.start()})) {
                    kernel.launch(gpu.stream(), dQkv, q, kCache, vCache, freqs, startAt, c.tokens());
                    gpu.stream().synchronize();
                }
            } else {
                kernel.launch(gpu.stream(), dQkv, q, kCache, vCache, freqs, c.start(), c.tokens());
            }
            for (int i = 0; i < qkv.length; i++) Bf16Host.set(hQkv, i, qkv[i]);
            new CpuRopeKvWrite(kernel, new Rope(c.headDim(), c.theta(), factors)).apply(hQkv, c.tokens(), c.start(), hq, hk, hv);

            float[] gotQ = gpu.downloadBf16(q);
            float[] wantQ = new float[gotQ.length];
            for (int i = 0; i < wantQ.length; i++) wantQ[i] = Bf16Host.get(hq, i);
            assertWithinBf16Ulp(wantQ, gotQ, wantQ.length, 1e-5, "q");

            int firstRow = c.start() - 2;
            int rows = c.tokens() + 4;
            short[] gotK = window(kCache, firstRow, rows, kv), gotV = window(vCache, firstRow, rows, kv);
            float[] wantK = new float[c.tokens() * kv], gotKRows = new float[c.tokens() * kv];
            for (int r = 0; r < rows; r++) {
                int row = firstRow + r;
                boolean written = row >= c.start() && row < c.start() + c.tokens();
                for (int j = 0; j < kv; j++) {
                    short k = gotK[r * kv + j], v = gotV[r * kv + j];
                    if (!written) {
                        short poison = (short) (j % 2 == 0 ? 0xDEAD : 0x7FC0);
                        assertEquals(poison, k, "K cache row " + row + " must stay untouched");
                        assertEquals(poison, v, "V cache row " + row + " must stay untouched");
                        continue;
                    }
                    int t = row - c.start();
                    assertEquals(BFloat16.fromFloat(qkv[t * kernel.rowWidth() + kernel.qWidth() + kv + j]), v,
                            "V copied bit for bit, row " + row + "; " + gpu.context());
                    wantK[t * kv + j] = Bf16Host.get(hk, (long) row * kv + j);
                    gotKRows[t * kv + j] = BFloat16.toFloat(k);
                }
            }
            assertWithinBf16Ulp(wantK, gotKRows, wantK.length, 1e-5, "kCache");
        }
    }

    private static short[] window(DeviceTensor cache, int firstRow, int rows, int width) {
        gpu.stream().synchronize();
        short[] bits = new short[rows * width];
        cache.buffer().slice(2L * firstRow * width, 2L * rows * width).copyToHost(MemorySegment.ofArray(bits));
        return bits;
    }

    @ParameterizedTest(name = "fused {0}")
    @ValueSource(booleans = {true, false})
    void swiGluMatchesItsTwin(boolean fused) {
        int rows = 29, hidden = 1000;
        float[] gate = gpu.bf16Gaussians(rows * hidden, 3), up = gpu.bf16Gaussians(rows * hidden, 1);
        float[] gateUp = new float[2 * rows * hidden];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(gate, r * hidden, gateUp, 2 * r * hidden, hidden);
            System.arraycopy(up, r * hidden, gateUp, (2 * r + 1) * hidden, hidden);
        }
        try (DeviceTensor dGate = gpu.bf16(gate); DeviceTensor dUp = gpu.bf16(up); DeviceTensor dGateUp = gpu.bf16(gateUp);
             DeviceTensor out = gpu.poisoned(DType.BF16, (long) (rows + 1) * hidden, DeviceFixture.BF16_POISON);
             Tensor hGate = Tensor.ofFloats(gate, rows, hidden); Tensor hUp = Tensor.ofFloats(up, rows, hidden);
             Tensor hy = Tensor.allocate(DType.F32, rows, hidden)) {
            if (fused) new SwiGlu().launchFused(gpu.stream(), dGateUp, out, rows, hidden);
            else new SwiGlu().launch(gpu.stream(), dGate, dUp, out, rows, hidden);
            float[] got = gpu.downloadBf16(out);
            io.minference.kernels.cpu.SwiGlu.apply(hGate, hUp, hy, rows);
            assertWithinBf16Ulp(hy.toFloatArray(), got, rows * hidden, 1e-6, "SwiGLU out");
            for (int j = 0; j < hidden; j++) assertTrue(Float.isNaN(got[rows * hidden + j]), "wrote past the rows");
            double[] reference = new double[rows * hidden];
            for (int i = 0; i < reference.length; i++) reference[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
            double error = relativeError(reference, Arrays.copyOf(got, rows * hidden));
            assertTrue(error < 4e-3, "norm-wise error " + error + "; " + gpu.context());
        }
    }

    @Test
    void argmaxMatchesItsTwinOnTiesNanAndInfinities() {
        int vocab = 128256, rows = 6;
        float[] logits = gpu.gaussians(rows * vocab, 4);
        int tieLow = 1000 + gpu.random.nextInt(50_000), tieHigh = tieLow + 1 + gpu.random.nextInt(70_000);
        logits[vocab + tieLow] = logits[vocab + tieHigh] = 100f;
        for (int i = 0; i < vocab; i += 7) logits[2 * vocab + i] = Float.NaN;
        for (int i = 0; i < vocab; i++) {
            logits[3 * vocab + i] = Float.NaN;
            logits[4 * vocab + i] = Float.NEGATIVE_INFINITY;
        }
        logits[6 * vocab - 1] = 1000f;
        try (DeviceTensor dLogits = gpu.f32(logits, rows, vocab); DeviceTensor out = gpu.i32(new int[rows + 1]);
             Tensor host = Tensor.ofFloats(logits, rows, vocab)) {
            out.buffer().fillInts(-7);
            Argmax.wide().launch(gpu.stream(), dLogits, out, rows, vocab);
            int[] got = gpu.downloadI32(out);
            int[] want = CpuArgmax.apply(host, rows);
            assertEquals(tieLow, want[1]);
            assertEquals(-1, want[3]);
            assertEquals(0, want[4]);
            assertArrayEquals(want, Arrays.copyOf(got, rows), gpu.context());
            assertEquals(-7, got[rows], "wrote past the rows");
            double ms = gpu.medianMillis(20, () -> Argmax.wide().launch(gpu.stream(), dLogits, out, 1, vocab));
            System.out.printf("BENCH argmax of %d logits: %.1f us%n", vocab, ms * 1e3);
        }
        float[] small = gpu.gaussians(3 * 100, 1);
        try (DeviceTensor dSmall = gpu.f32(small, 3, 100); DeviceTensor out = gpu.i32(new int[3]);
             Tensor host = Tensor.ofFloats(small, 3, 100)) {
            new Argmax(256).launch(gpu.stream(), dSmall, out, 3, 100);
            assertArrayEquals(CpuArgmax.apply(host, 3), gpu.downloadI32(out), "fewer logits than threads");
        }
    }
}
