package io.minference.runtime.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

@Tag("gpu")
class KernelGpuTest {
    private static final int NAN_BITS = 0x7FC0DEAD;

    private static CudaBackend backend;
    private static CudaContext context;

    @BeforeAll
    static void open() {
        backend = GpuTests.openOrSkip();
        context = backend.context();
    }

    @AfterAll
    static void close() {
        if (backend != null) backend.close();
    }

    @Test
    void handWrittenAxpyMatchesTheCpu() {
        long seed = GpuTests.freshSeed();
        Random random = new Random(seed);
        int n = 1_000_001;
        float alpha = (float) random.nextGaussian();
        float[] a = GpuTests.randomFloats(random, n);
        float[] b = GpuTests.randomFloats(random, n);
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) expected[i] = Math.fma(alpha, b[i], a[i]);

        Kernel axpy = context.kernel(TestKernels.AXPY, LaunchShape.covering(n, 256));
        try (DeviceBuffer da = context.allocate(4L * n); DeviceBuffer db = context.allocate(4L * n);
             DeviceBuffer dc = context.allocate(4L * n)) {
            da.copyFromHost(MemorySegment.ofArray(a));
            db.copyFromHost(MemorySegment.ofArray(b));
            dc.fillInts(NAN_BITS);
            axpy.launch(backend.stream(), da, db, dc, alpha, n);
            backend.stream().synchronize();
            float[] c = new float[n];
            dc.copyToHost(MemorySegment.ofArray(c));
            assertArrayEquals(expected, c, "seed " + seed);
        }
    }

    @Test
    void aModuleIsLoadedOncePerContext() {
        Kernel first = context.kernel(TestKernels.AXPY, LaunchShape.of(1, 32));
        int loaded = context.loadedModuleCount();
        Kernel second = context.kernel(TestKernels.AXPY, LaunchShape.of(8, 128));
        Kernel third = first.withShape(LaunchShape.of(2, 64));
        assertEquals(loaded, context.loadedModuleCount());
        assertTrue(first.function() == second.function() && second.function() == third.function());
        int registers = first.function().registerCount();
        assertTrue(registers > 0 && registers <= 255, "registers " + registers);
        assertEquals(1024, first.function().attribute(CudaFunction.Attribute.MAX_THREADS_PER_BLOCK));
        assertTrue(first.function().attribute(CudaFunction.Attribute.PTX_VERSION) >= 80);
    }

    @Test
    void dynamicSharedMemoryBeyond48KiBIsAllowedOnRequest() {
        int sharedBytes = 100 * 1024;
        assumeTrue(backend.device().maxSharedBytesPerBlockOptin() >= sharedBytes, "device allows less than 100 KiB");
        int threads = 256;
        Kernel kernel = context.kernel(TestKernels.sharedTail(sharedBytes), LaunchShape.of(1, threads));
        assertEquals(sharedBytes, kernel.function().attribute(CudaFunction.Attribute.MAX_DYNAMIC_SHARED_SIZE_BYTES));
        try (DeviceBuffer out = context.allocate(4L * threads)) {
            out.fillInts(-1);
            kernel.launch(backend.stream(), out, sharedBytes - 4 * threads);
            backend.stream().synchronize();
            int[] values = new int[threads];
            out.copyToHost(MemorySegment.ofArray(values));
            for (int t = 0; t < threads; t++) assertEquals(3 * ((t + 1) % threads) + 1, values[t], "thread " + t);
        }
        int tooMuch = backend.device().maxSharedBytesPerBlockOptin() + 1024;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> context.kernel(TestKernels.sharedTail(tooMuch), LaunchShape.of(1, threads)));
        assertTrue(e.getMessage().contains("dynamic shared memory"), e.getMessage());
    }

    @Test
    void ptxThatDoesNotCompileShowsTheJitLog() {
        CudaException e = assertThrows(CudaException.class,
                () -> context.kernel(TestKernels.BROKEN, LaunchShape.of(1, 1)));
        System.out.println("bad PTX: " + e.getMessage());
        assertEquals("cuModuleLoadDataEx", e.call());
        assertTrue(e.getMessage().contains("JIT error log"), e.getMessage());
        assertTrue(e.getMessage().contains("no_such_register"), e.getMessage());
        assertTrue(e.getMessage().contains("'broken'"), e.getMessage());
    }

    @Test
    void argumentsAreCheckedAgainstTheParametersBeforeLaunch() {
        Kernel axpy = context.kernel(TestKernels.AXPY, LaunchShape.of(1, 32));
        try (DeviceBuffer buffer = context.allocate(128)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> axpy.launch(backend.stream(), buffer, buffer, buffer, 2.0, 32));
            assertTrue(e.getMessage().contains("'alpha' is .f32"), e.getMessage());
        }
    }

    @Test
    void capturedLaunchesReplayLikeEagerOnes() {
        long seed = GpuTests.freshSeed();
        Random random = new Random(seed);
        int n = 4096;
        float[] a = GpuTests.randomFloats(random, n);
        float[] b = GpuTests.randomFloats(random, n);
        Kernel axpy = context.kernel(TestKernels.AXPY, LaunchShape.covering(n, 128));
        CudaStream stream = backend.stream();
        try (DeviceBuffer x = context.allocate(4L * n); DeviceBuffer y = context.allocate(4L * n);
             DeviceBuffer eager = context.allocate(4L * n); DeviceBuffer replayed = context.allocate(4L * n)) {
            x.copyFromHost(MemorySegment.ofArray(a));
            y.copyFromHost(MemorySegment.ofArray(b));
            // three dependent steps: out = x + 0.5 y; out = out + 2 y; out = out - 1.5 x
            eager.fillInts(NAN_BITS);
            axpy.launch(stream, x, y, eager, 0.5f, n);
            axpy.launch(stream, eager, y, eager, 2f, n);
            axpy.launch(stream, eager, x, eager, -1.5f, n);
            replayed.fillInts(NAN_BITS);
            try (CudaGraph graph = stream.capture(() -> {
                axpy.launch(stream, x, y, replayed, 0.5f, n);
                axpy.launch(stream, replayed, y, replayed, 2f, n);
                axpy.launch(stream, replayed, x, replayed, -1.5f, n);
            })) {
                stream.synchronize();
                float[] beforeReplay = new float[n];
                replayed.copyToHost(MemorySegment.ofArray(beforeReplay));
                assertTrue(Float.isNaN(beforeReplay[0]), "capturing must not run the work");
                graph.launch(stream);
                graph.launch(stream);
                stream.synchronize();
            }
            float[] expected = new float[n];
            float[] actual = new float[n];
            eager.copyToHost(MemorySegment.ofArray(expected));
            replayed.copyToHost(MemorySegment.ofArray(actual));
            assertArrayEquals(expected, actual, "seed " + seed);
        }
    }
}
