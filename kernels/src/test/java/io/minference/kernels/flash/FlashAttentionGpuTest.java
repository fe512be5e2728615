package io.minference.kernels.flash;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.GpuTests;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The flash kernels on a real GPU against the float64 reference on the same bf16 inputs: fresh random inputs per
 * run (the seed is in every message), outputs poisoned with NaN first so that an unwritten element fails, cache rows
 * past the attended prefix poisoned too, and the norm-wise relative error at most 1e-2.
 */
@Tag("gpu")
class FlashAttentionGpuTest {
    private static final double TOLERANCE = 1e-2;
    /** Every byte 0xFF: each bf16 element reads 0xFFFF, a NaN, until a kernel writes it. */
    private static final byte NAN_BYTES = (byte) 0xFF;

    private static CudaBackend backend;

    @BeforeAll
    static void open() {
        backend = GpuTests.openOrSkip();
    }

    @AfterAll
    static void close() {
        if (backend != null) backend.close();
    }

    static Stream<Arguments> prefillCases() {
        List<Arguments> cases = new ArrayList<>();
        for (int d : new int[] {64, 128}) {
            for (int group : new int[] {1, 4}) {
                AttentionShape shape = new AttentionShape(2 * group, 2, d);
                for (int count : new int[] {1, 7, 64, 100, 127, 128, 129, 1000, 4096}) {
                    cases.add(Arguments.of(shape, count, 0));
                }
                for (int[] chunk : new int[][] {{1, 7}, {64, 64}, {129, 1000}, {96, 4000}, {300, 333}}) {
                    cases.add(Arguments.of(shape, chunk[0], chunk[1]));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "prefill {0}, {1} queries from {2}")
    @MethodSource("prefillCases")
    void tensorCorePrefillMatchesFloat64(AttentionShape shape, int count, int start) {
        checkPrefill(shape, count, start, true);
    }

    static Stream<Arguments> fallbackCases() {
        return Stream.of(
                Arguments.of(new AttentionShape(8, 4, 8), 1, 0),
                Arguments.of(new AttentionShape(8, 4, 8), 7, 0),
                Arguments.of(new AttentionShape(8, 4, 8), 512, 0),
                Arguments.of(new AttentionShape(8, 4, 8), 33, 100),
                Arguments.of(new AttentionShape(4, 1, 96), 129, 0),
                Arguments.of(new AttentionShape(4, 4, 40), 65, 3));
    }

    @ParameterizedTest(name = "fallback {0}, {1} queries from {2}")
    @MethodSource("fallbackCases")
    void fallbackMatchesFloat64(AttentionShape shape, int count, int start) {
        checkPrefill(shape, count, start, false);
    }

    static Stream<Arguments> decodeCases() {
        List<Arguments> cases = new ArrayList<>();
        for (int length : new int[] {1, 100, 5000, 70000}) {
            cases.add(Arguments.of(new AttentionShape(32, 8, 128), length));
        }
        cases.add(Arguments.of(new AttentionShape(8, 8, 64), 3001));
        cases.add(Arguments.of(new AttentionShape(6, 2, 64), 777));
        cases.add(Arguments.of(new AttentionShape(16, 2, 128), 1234));
        cases.add(Arguments.of(new AttentionShape(4, 4, 128), 2));
        cases.add(Arguments.of(new AttentionShape(8, 4, 8), 511));
        return cases.stream();
    }

    @ParameterizedTest(name = "decode {0} over {1} keys")
    @MethodSource("decodeCases")
    void splitDecodeMatchesFloat64(AttentionShape shape, int length) {
        long seed = System.nanoTime();
        AttentionProblem problem = AttentionProblem.random(shape, 1, length - 1, seed);
        float[] actual = run(problem, (flash, q, k, v, out) -> flash.decode(backend.stream(), q, k, v, out, length));
        assertAccurate(problem, actual, "seed " + seed);
    }

    static Stream<Arguments> deviceLengthDecodeCases() {
        AttentionShape llama = new AttentionShape(32, 8, 128), tiny = new AttentionShape(8, 4, 8);
        return Stream.of(Arguments.of(llama, 20000, 1), Arguments.of(llama, 20000, 100),
                Arguments.of(llama, 20000, 7777), Arguments.of(llama, 20000, 20000),
                Arguments.of(tiny, 3000, 2), Arguments.of(tiny, 3000, 2999));
    }

    /**
     * The graph-replay form: the split count fixed by the capacity, the length read from device memory, so short
     * caches leave most splits empty and the combine must weigh their neutral partials by 0.
     */
    @ParameterizedTest(name = "decode {0}, capacity {1}, length {2} on the device")
    @MethodSource("deviceLengthDecodeCases")
    void splitDecodeWithTheLengthOnTheDeviceMatchesFloat64(AttentionShape shape, int capacity, int length) {
        long seed = System.nanoTime();
        AttentionProblem problem = AttentionProblem.random(shape, 1, length - 1, capacity, seed);
        float[] actual = run(problem, (flash, q, k, v, out) -> {
            try (DeviceBuffer lengthAt = upload(new short[] {(short) length, (short) (length >>> 16)})) {
                flash.reserveDecode(capacity);
                flash.decode(backend.stream(), q, k, v, out, lengthAt, capacity);
                backend.stream().synchronize();
            }
        });
        assertAccurate(problem, actual, "seed " + seed);
    }

    static Stream<Arguments> decodeTunings() {
        return Stream.of(Arguments.of(new DecodeTuning(1, 2, 1, false, true)),
                Arguments.of(new DecodeTuning(4, 3, 2, true, true)), Arguments.of(new DecodeTuning(8, 6, 4, true, true)),
                Arguments.of(new DecodeTuning(32, 16, 8, false, true)));
    }

    /**
     * The device-length decode of the LLaMA-3 shape under other {@link DecodeTuning}s than the default: one or many
     * combine warps, few or many splits, one to eight loads in flight, with and without prefetch; each against
     * float64 at a long and a short length of one capacity.
     */
    @ParameterizedTest(name = "decode with {0}")
    @MethodSource("decodeTunings")
    void everyDecodeTuningMatchesFloat64(DecodeTuning tuning) {
        checkDecode(tuning, 50000);
    }

    /** The decode8 layouts over a bf16 cache: head scores, 16 elements a lane, both, lazy rescale. */
    static Stream<Arguments> layoutTunings() {
        return Stream.of(Arguments.of(DecodeTuning.DEFAULT.withLayout(false, 8, true)),
                Arguments.of(DecodeTuning.DEFAULT.withLayout(false, 16, true)),
                Arguments.of(DecodeTuning.DEFAULT.withUnroll(2).withLayout(false, 16, false)),
                Arguments.of(new DecodeTuning(4, 3, 8, false, true, false, 8, true, false)),
                Arguments.of(DecodeTuning.DEFAULT.withLayout(false, 16, true).withLazyRescale(true)),
                Arguments.of(DecodeTuning.DEFAULT.withLazyRescale(true)));
    }

    /**
     * The decode8 layouts of the key loop ({@link DecodeTuning}'s laneValues, scores and rescale) over a bf16 cache
     * of the LLaMA-3 shape, against float64 as above (a smaller capacity, for a quick run in decode8-ab.sh).
     */
    @ParameterizedTest(name = "decode with {0}")
    @MethodSource("layoutTunings")
    void everyLayoutMatchesFloat64(DecodeTuning tuning) {
        checkDecode(tuning, 12000);
    }

    private void checkDecode(DecodeTuning tuning, int capacity) {
        AttentionShape shape = new AttentionShape(32, 8, 128);
        for (int length : new int[] {capacity, 3000, 1}) {
            long seed = System.nanoTime();
            AttentionProblem problem = AttentionProblem.random(shape, 1, length - 1, capacity, seed);
            FlashAttention flash = new FlashAttention(backend.context(), shape, PrefillKernel.configured(), tuning);
            float[] actual = run(backend, problem, flash, (f, q, k, v, out) -> {
                try (DeviceBuffer lengthAt = upload(new short[] {(short) length, (short) (length >>> 16)})) {
                    f.reserveDecode(capacity);
                    f.decode(backend.stream(), q, k, v, out, lengthAt, capacity);
                    backend.stream().synchronize();
                }
            });
            assertAccurate(problem, actual, tuning + ", length " + length + ", seed " + seed);
        }
    }

    private void checkPrefill(AttentionShape shape, int count, int start, boolean tensorCores) {
        long seed = System.nanoTime();
        AttentionProblem problem = AttentionProblem.random(shape, count, start, seed);
        float[] actual = run(problem, (flash, q, k, v, out) -> {
            assertTrue(flash.usesTensorCores() == tensorCores);
            flash.prefill(backend.stream(), q, k, v, out, count, start);
        });
        assertAccurate(problem, actual, "seed " + seed);
    }

    interface Launch {
        void launch(FlashAttention flash, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer out);
    }

    /** Uploads the problem (cache rows past the attended prefix set to NaN), poisons the output, runs, downloads. */
    private static float[] run(AttentionProblem problem, Launch launch) {
        return run(backend, problem, new FlashAttention(backend.context(), problem.shape()), launch);
    }

    /**
     * Uploads the problem to {@code backend} with the cache rows past the attended prefix set to NaN, poisons the
     * output with NaN, runs {@code launch} on {@code flash} (closed afterwards), and downloads the output.
     */
    static float[] run(CudaBackend backend, AttentionProblem problem, FlashAttention flash, Launch launch) {
        AttentionShape shape = problem.shape();
        int attended = problem.start() + problem.count();
        short[] keys = AttentionProblem.bits(problem.k());
        short[] values = AttentionProblem.bits(problem.v());
        for (int i = attended * shape.kvDim(); i < keys.length; i++) {
            keys[i] = (short) 0x7FC1;
            values[i] = (short) 0x7FC1;
        }
        short[] out = new short[problem.count() * shape.queryDim()];
        try (flash;
             DeviceBuffer q = upload(backend, AttentionProblem.bits(problem.q()));
             DeviceBuffer k = upload(backend, keys);
             DeviceBuffer v = upload(backend, values);
             DeviceBuffer o = backend.context().allocate(2L * out.length)) {
            o.fillBytes(NAN_BYTES);
            launch.launch(flash, q, k, v, o);
            backend.stream().synchronize();
            o.copyToHost(MemorySegment.ofArray(out));
        }
        float[] result = new float[out.length];
        for (int i = 0; i < out.length; i++) result[i] = BFloat16.toFloat(out[i]);
        return result;
    }

    private static DeviceBuffer upload(short[] bits) {
        return upload(backend, bits);
    }

    private static DeviceBuffer upload(CudaBackend backend, short[] bits) {
        DeviceBuffer buffer = backend.context().allocate(2L * bits.length);
        buffer.copyFromHost(MemorySegment.ofArray(bits));
        return buffer;
    }

    private static void assertAccurate(AttentionProblem problem, float[] actual, String seed) {
        for (int i = 0; i < actual.length; i++) {
            int index = i;
            assertFalse(Float.isNaN(actual[i]) || Float.isInfinite(actual[i]), () -> seed + ": element " + index
                    + " (query " + index / problem.shape().queryDim() + ") is " + actual[index]
                    + ": unwritten or not finite");
        }
        double error = AttentionProblem.relativeError(actual, problem.reference());
        System.out.printf("%s T=%d start=%d: relative error %.2e%n", problem.shape(), problem.count(),
                problem.start(), error);
        assertTrue(error <= TOLERANCE, () -> seed + ": relative error " + error);
    }
}
