package io.minference.kernels.samples;

import io.minference.runtime.cuda.CudaGraph;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.LaunchShape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The DSL's sample kernels on a real GPU, each against a CPU reference on fresh random inputs, with every output
 * element poisoned before the launch and checked after it. Where the kernel's order of operations is fixed (the
 * reductions), the reference repeats that order in float and the comparison is exact.
 */
@Tag("gpu")
class SampleKernelsGpuTest {
    private static GpuFixture gpu;

    @BeforeAll
    static void open() {
        gpu = GpuFixture.openOrSkip();
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
    }

    @Test
    void vectorAddOfAnOddLength() {
        int n = 1_000_003;
        float[] a = gpu.gaussians(n), b = gpu.gaussians(n);
        Kernel add = gpu.kernel(new VectorAdd(), LaunchShape.covering(n, VectorAdd.BLOCK));
        try (DeviceBuffer da = gpu.upload(a); DeviceBuffer db = gpu.upload(b); DeviceBuffer dc = gpu.poisoned(n + 1)) {
            add.launch(gpu.backend.stream(), da, db, dc, n);
            float[] c = gpu.download(dc, n + 1);
            for (int i = 0; i < n; i++) {
                if (Float.floatToRawIntBits(c[i]) != Float.floatToRawIntBits(a[i] + b[i])) {
                    fail("c[" + i + "] = " + c[i] + ", expected " + (a[i] + b[i]) + "; " + gpu.context());
                }
            }
            assertEquals(GpuFixture.POISON, Float.floatToRawIntBits(c[n]), "wrote past n");
        }
    }

    @ParameterizedTest(name = "block {0}")
    @ValueSource(ints = {256, 1024})
    void blockReduceSumFollowsItsTree(int block) {
        int n = 37 * block + block / 3;
        int blocks = (n + block - 1) / block;
        float[] x = gpu.gaussians(n);
        Kernel reduce = gpu.kernel(new BlockReduceSum(block), LaunchShape.of(blocks, block));
        try (DeviceBuffer dx = gpu.upload(x); DeviceBuffer out = gpu.poisoned(blocks)) {
            reduce.launch(gpu.backend.stream(), dx, out, n);
            float[] sums = gpu.download(out, blocks);
            for (int b = 0; b < blocks; b++) {
                float[] partials = new float[block];
                for (int t = 0; t < block; t++) partials[t] = b * block + t < n ? x[b * block + t] : 0f;
                for (int half = block / 2; half >= 1; half /= 2) {
                    for (int t = 0; t < half; t++) partials[t] += partials[t + half];
                }
                assertEquals(partials[0], sums[b], "block " + b + "; " + gpu.context());
                assertEquals(exactSum(x, b * block, Math.min(n, (b + 1) * block)), sums[b], 1e-4,
                        "block " + b + " against float64; " + gpu.context());
            }
        }
    }

    @Test
    void warpReduceSumOfAnOddLength() {
        int n = 100_003;
        int warps = (n + 31) / 32;
        float[] x = gpu.gaussians(n);
        Kernel reduce = gpu.kernel(new WarpReduceSum(), LaunchShape.covering(n, WarpReduceSum.BLOCK));
        try (DeviceBuffer dx = gpu.upload(x); DeviceBuffer out = gpu.poisoned(warps + 1)) {
            reduce.launch(gpu.backend.stream(), dx, out, n);
            float[] sums = gpu.download(out, warps + 1);
            for (int w = 0; w < warps; w++) {
                float[] lanes = new float[32];
                for (int l = 0; l < 32; l++) lanes[l] = 32 * w + l < n ? x[32 * w + l] : 0f;
                for (int mask = 16; mask >= 1; mask /= 2) {
                    float[] next = new float[32];
                    for (int l = 0; l < 32; l++) next[l] = lanes[l] + lanes[l ^ mask];
                    lanes = next;
                }
                assertEquals(lanes[0], sums[w], "warp " + w + "; " + gpu.context());
                assertEquals(exactSum(x, 32 * w, Math.min(n, 32 * w + 32)), sums[w], 1e-5, "warp " + w);
            }
            assertEquals(GpuFixture.POISON, Float.floatToRawIntBits(sums[warps]), "wrote past the last warp");
        }
    }

    @Test
    void asyncCopyThroughSharedMemory() {
        int chunks = 7 * AsyncCopy.BLOCK * AsyncCopy.PASSES + 301;
        float[] src = gpu.gaussians(chunks * 4);
        int grid = (chunks + AsyncCopy.BLOCK * AsyncCopy.PASSES - 1) / (AsyncCopy.BLOCK * AsyncCopy.PASSES);
        Kernel copy = gpu.kernel(new AsyncCopy(), LaunchShape.of(grid, AsyncCopy.BLOCK));
        try (DeviceBuffer ds = gpu.upload(src); DeviceBuffer dd = gpu.poisoned(chunks * 4L + 4)) {
            copy.launch(gpu.backend.stream(), ds, dd, chunks);
            assertCopied(src, gpu.download(dd, chunks * 4 + 4));
        }
    }

    @ParameterizedTest(name = "unroll {0}")
    @ValueSource(ints = {1, 4, 8})
    void copyBandwidthKernelCopiesExactly(int unroll) {
        int chunks = 123_457;
        float[] src = gpu.gaussians(chunks * 4);
        // a small grid, so that every thread runs the unrolled loop several times and then the tail
        Kernel copy = gpu.kernel(new CopyBandwidth(unroll), LaunchShape.of(13, CopyBandwidth.BLOCK));
        try (DeviceBuffer ds = gpu.upload(src); DeviceBuffer dd = gpu.poisoned(chunks * 4L + 4)) {
            copy.launch(gpu.backend.stream(), ds, dd, chunks);
            assertCopied(src, gpu.download(dd, chunks * 4 + 4));
        }
    }

    private static void assertCopied(float[] src, float[] dst) {
        for (int i = 0; i < src.length; i++) {
            if (Float.floatToRawIntBits(dst[i]) != Float.floatToRawIntBits(src[i])) {
                fail("dst[" + i + "] = " + dst[i] + ", expected " + src[i] + "; " + gpu.context());
            }
        }
        for (int i = src.length; i < dst.length; i++) {
            assertEquals(GpuFixture.POISON, Float.floatToRawIntBits(dst[i]), "wrote past the copy at " + i);
        }
    }

    @Test
    void rmsNormAgainstFloat64() {
        int rows = 67, cols = 5003;
        float eps = 1e-5f;
        float[] x = gpu.gaussians(rows * cols), w = gpu.gaussians(cols);
        Kernel norm = gpu.kernel(new RmsNorm(256), LaunchShape.of(rows, 256));
        try (DeviceBuffer dx = gpu.upload(x); DeviceBuffer dw = gpu.upload(w);
             DeviceBuffer dy = gpu.poisoned((long) rows * cols)) {
            norm.launch(gpu.backend.stream(), dx, dw, dy, cols, eps);
            float[] y = gpu.download(dy, rows * cols);
            double worst = 0;
            for (int r = 0; r < rows; r++) {
                double sumSq = 0;
                for (int j = 0; j < cols; j++) sumSq += (double) x[r * cols + j] * x[r * cols + j];
                double scale = 1 / Math.sqrt(sumSq / cols + eps);
                for (int j = 0; j < cols; j++) {
                    double expected = x[r * cols + j] * scale * w[j];
                    double difference = Math.abs(y[r * cols + j] - expected);
                    double error = expected == 0 ? difference : difference / Math.abs(expected);
                    if (!(error <= 1e-5)) {
                        fail("y[" + r + "][" + j + "] = " + y[r * cols + j] + ", float64 " + expected + "; "
                                + gpu.context());
                    }
                    worst = Math.max(worst, error);
                }
            }
            System.out.printf("RmsNorm %dx%d: worst relative error %.2e%n", rows, cols, worst);
        }
    }

    @Test
    void graphReplayOfDslKernelsEqualsEagerLaunches() {
        int rows = 32, cols = 4096;
        float[] x = gpu.gaussians(rows * cols), w = gpu.gaussians(cols), bias = gpu.gaussians(rows * cols);
        Kernel norm = gpu.kernel(new RmsNorm(128), LaunchShape.of(rows, 128));
        Kernel add = gpu.kernel(new VectorAdd(), LaunchShape.covering((long) rows * cols, VectorAdd.BLOCK));
        CudaStream stream = gpu.backend.stream();
        try (DeviceBuffer dx = gpu.upload(x); DeviceBuffer dw = gpu.upload(w); DeviceBuffer db = gpu.upload(bias);
             DeviceBuffer eagerNorm = gpu.poisoned((long) rows * cols);
             DeviceBuffer eager = gpu.poisoned((long) rows * cols);
             DeviceBuffer replayNorm = gpu.poisoned((long) rows * cols);
             DeviceBuffer replayed = gpu.poisoned((long) rows * cols)) {
            int n = rows * cols;
            // two dependent steps: y = rmsnorm(x) * w, then out = y + bias
            norm.launch(stream, dx, dw, eagerNorm, cols, 1e-6f);
            add.launch(stream, eagerNorm, db, eager, n);
            try (CudaGraph graph = stream.capture(() -> {
                norm.launch(stream, dx, dw, replayNorm, cols, 1e-6f);
                add.launch(stream, replayNorm, db, replayed, n);
            })) {
                float[] beforeReplay = gpu.download(replayed, n);
                assertTrue(Float.isNaN(beforeReplay[0]) && Float.isNaN(beforeReplay[n - 1]),
                        "capturing must not run the work");
                graph.launch(stream);
                graph.launch(stream);
            }
            float[] expected = gpu.download(eager, n);
            float[] actual = gpu.download(replayed, n);
            for (float v : expected) assertTrue(Float.isFinite(v), "eager result not written");
            assertArrayEquals(expected, actual, gpu.context());
        }
    }

    private static double exactSum(float[] x, int from, int to) {
        double sum = 0;
        for (int i = from; i < to; i++) sum += x[i];
        return sum;
    }
}
