package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.flash.FlashPrefill;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.LaunchShape;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.CudaAvailability;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaDriver;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.sparse.CpuSparseAttention;
import io.minference.sparse.SparseIndex;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The sparse tensor-core kernel on a real GPU against {@link CpuSparseAttention} on the same bf16-rounded inputs:
 * fresh random inputs per run (the seed is in every message), the output poisoned with NaN bits first and the
 * cache rows past the prompt poisoned too; every element of the index's heads must be written and finite, every
 * other head's element left exactly as poisoned, the norm-wise relative error at most 1e-2 and every row within
 * {@code 1e-2 |row| + 1e-3 sqrt(d)}. A dense index must
 * reproduce the dense mma.sync flash kernel bit for bit.
 */
@Tag("gpu")
class SparseFlashAttentionGpuTest {
    private static final double TOLERANCE = 1e-2;
    private static final short POISON = (short) 0xFFFF;
    private static final int[] LENGTHS = {1, 63, 64, 65, 1000, 4099};

    private static CudaBackend backend;

    @BeforeAll
    static void open() {
        CudaAvailability availability = CudaDriver.availability();
        assumeTrue(availability.available(), () -> "no usable CUDA device: " + availability.reason());
        backend = CudaBackend.open(0);
    }

    @AfterAll
    static void close() {
        if (backend != null) backend.close();
    }

    enum Pattern { VERTICAL_SLASH, A_SHAPE, BLOCK_SPARSE, MIXED }

    static Stream<Arguments> sparseCases() {
        List<Arguments> cases = new ArrayList<>();
        for (int d : new int[] {64, 128}) {
            for (int length : LENGTHS) {
                AttentionShape wide = new AttentionShape(32, 8, d);
                AttentionShape narrow = new AttentionShape(6, 2, d);
                cases.add(Arguments.of(length > 1000 ? narrow : wide, length, Pattern.VERTICAL_SLASH, 0, -1));
                cases.add(Arguments.of(narrow, length, Pattern.A_SHAPE, 0, -1));
                cases.add(Arguments.of(narrow, length, Pattern.BLOCK_SPARSE, 0, -1));
                cases.add(Arguments.of(narrow, length, Pattern.MIXED, 0, -1));
            }
            cases.add(Arguments.of(new AttentionShape(6, 2, d), 1000, Pattern.VERTICAL_SLASH, 2, 3));
            cases.add(Arguments.of(new AttentionShape(32, 8, d), 700, Pattern.MIXED, 8, 16));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{2} {0}, {1} tokens, heads from {3} ({4})")
    @MethodSource("sparseCases")
    void matchesTheCpuReference(AttentionShape shape, int length, Pattern pattern, int firstHead, int heads) {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        int count = heads < 0 ? shape.numHeads() - firstHead : heads;
        SparseIndex index = switch (pattern) {
            case VERTICAL_SLASH -> TestIndexes.verticalSlash(random, firstHead, count, length, 150, 90);
            case A_SHAPE -> TestIndexes.aShape(firstHead, count, length, 100, 300);
            case BLOCK_SPARSE -> TestIndexes.blockSparse(random, firstHead, count, length, 0.2);
            case MIXED -> TestIndexes.mixed(random, firstHead, count, length);
        };
        Problem problem = Problem.random(shape, length, random);
        float[] actual = runSparse(problem, index);
        double[] expected = cpuReference(problem, index);
        assertHeads(problem, index, actual, "seed " + seed);
        double error = relativeError(actual, expected);
        System.out.printf("%s %s T=%d heads %d..%d: relative error %.2e%n", pattern, shape, length, firstHead,
                firstHead + count - 1, error);
        assertTrue(error <= TOLERANCE, () -> "seed " + seed + ", " + TestIndexes.describe(index)
                + ": relative error " + error);
        assertRowsClose(problem, actual, expected, "seed " + seed + ", " + pattern);
    }

    /**
     * Per query row and head of the reference (NaN elsewhere): {@code ||a - e|| <= 1e-2 ||e|| + 1e-3 sqrt(d)} (bf16
     * output, f32 accumulation), so that one bad row cannot hide in the norm-wise error.
     */
    private static void assertRowsClose(Problem problem, float[] actual, double[] expected, String what) {
        int d = problem.shape().headDim();
        for (int start = 0; start < expected.length; start += d) {
            if (Double.isNaN(expected[start])) continue;
            double diff = 0, norm = 0;
            for (int x = start; x < start + d; x++) {
                diff += (actual[x] - expected[x]) * (actual[x] - expected[x]);
                norm += expected[x] * expected[x];
            }
            double bound = TOLERANCE * Math.sqrt(norm) + 1e-3 * Math.sqrt(d);
            int row = start / problem.shape().queryDim();
            int head = (start % problem.shape().queryDim()) / d;
            double off = Math.sqrt(diff);
            assertTrue(off <= bound, () -> what + ": row " + row + " head " + head + " off by " + off + " > " + bound);
        }
    }

    static Stream<Arguments> denseCases() {
        List<Arguments> cases = new ArrayList<>();
        for (int d : new int[] {64, 128}) {
            for (int length : LENGTHS) cases.add(Arguments.of(new AttentionShape(6, 2, d), length));
        }
        cases.add(Arguments.of(new AttentionShape(32, 8, 128), 4099));
        return cases.stream();
    }

    /**
     * A full index through the sparse path equals the dense mma.sync kernel bit for bit: both run
     * {@link io.minference.kernels.flash.FlashKeyLoop} over the same 64-key tiles in the same order (the dense
     * kernel's 128-row blocks only add fully masked tiles, whose zero weights leave the accumulators unchanged).
     */
    @ParameterizedTest(name = "dense index {0}, {1} tokens")
    @MethodSource("denseCases")
    void denseIndexEqualsTheDenseFlashKernelBitForBit(AttentionShape shape, int length) {
        long seed = System.nanoTime();
        Problem problem = Problem.random(shape, length, new Random(seed));
        SparseIndex index = TestIndexes.dense(0, shape.numHeads(), length);
        float[] actual = runSparse(problem, index);
        float[] dense = runDense(problem);
        assertHeads(problem, index, actual, "seed " + seed);
        int differing = 0;
        int first = -1;
        for (int i = 0; i < actual.length; i++) {
            if (Float.floatToRawIntBits(actual[i]) != Float.floatToRawIntBits(dense[i])) {
                if (first < 0) first = i;
                differing++;
            }
        }
        double error = relativeError(actual, toDouble(dense));
        System.out.printf("dense index %s T=%d: %d elements differ from FlashPrefill (relative error %.2e)%n", shape,
                length, differing, error);
        int at = first;
        int count = differing;
        assertEquals(0, count, () -> "seed " + seed + ": " + count + " elements differ, the first " + at
                + " (query " + at / shape.queryDim() + "): " + actual[at] + " vs " + dense[at]);
    }

    @org.junit.jupiter.api.Test
    void anIndexBeyondTheLayersHeadsIsRefused() {
        AttentionShape shape = new AttentionShape(6, 2, 64);
        try (SparseFlashAttention attention = new SparseFlashAttention(backend.context(), shape);
             DeviceSparseIndex index = DeviceSparseIndex.upload(backend.context(), TestIndexes.dense(4, 3, 64));
             DeviceBuffer buffer = backend.context().allocate(2L * 64 * shape.queryDim())) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> attention.launch(backend.stream(), buffer, buffer, buffer, buffer, index));
            assertTrue(e.getMessage().contains("exceed"), e.getMessage());
        }
    }

    /** A prompt's bf16-rounded Q, K, V (as floats), K and V with 37 rows of poison past the prompt on the device. */
    record Problem(AttentionShape shape, int length, float[] q, float[] k, float[] v) {
        static final int SPARE_ROWS = 37;

        static Problem random(AttentionShape shape, int length, Random random) {
            return new Problem(shape, length, gaussians(random, length * shape.queryDim(), 1.5),
                    gaussians(random, length * shape.kvDim(), 1.0), gaussians(random, length * shape.kvDim(), 1.0));
        }

        private static float[] gaussians(Random random, int n, double sigma) {
            float[] values = new float[n];
            for (int i = 0; i < n; i++) values[i] = BFloat16.round((float) (sigma * random.nextGaussian()));
            return values;
        }
    }

    private interface Launch {
        void launch(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer out);
    }

    private static float[] runSparse(Problem problem, SparseIndex host) {
        try (SparseFlashAttention attention = new SparseFlashAttention(backend.context(), problem.shape());
             DeviceSparseIndex index = DeviceSparseIndex.upload(backend.context(), host)) {
            return run(problem, (q, k, v, out) -> attention.launch(backend.stream(), q, k, v, out, index));
        }
    }

    /** The mma.sync dense prefill itself (not whichever kernel FlashAttention picks for the device). */
    private static float[] runDense(Problem problem) {
        AttentionShape shape = problem.shape();
        FlashPrefill prefill = FlashPrefill.forHeadDim(shape.headDim());
        Kernel kernel = backend.context().kernel(prefill.emit(backend.device().ptxTarget()), LaunchShape.of(1, 32))
                .withShape(new LaunchShape(shape.numHeads(), prefill.queryBlocks(problem.length()), 1,
                        prefill.threads(), 1, 1));
        return run(problem, (q, k, v, out) -> kernel.launch(backend.stream(), q, k, v, out, problem.length(), 0,
                shape.numHeads(), shape.numKvHeads(), FlashAttention.log2Scale(shape.headDim())));
    }

    /** Uploads the problem, poisons the output, runs, downloads; unwritten elements come back as NaN. */
    private static float[] run(Problem problem, Launch launch) {
        int kvDim = problem.shape().kvDim();
        short[] out = new short[problem.length() * problem.shape().queryDim()];
        try (DeviceBuffer q = upload(bits(problem.q(), 0));
             DeviceBuffer k = upload(bits(problem.k(), Problem.SPARE_ROWS * kvDim));
             DeviceBuffer v = upload(bits(problem.v(), Problem.SPARE_ROWS * kvDim));
             DeviceBuffer o = backend.context().allocate(2L * out.length)) {
            o.fillBytes((byte) 0xFF);
            launch.launch(q, k, v, o);
            backend.stream().synchronize();
            o.copyToHost(MemorySegment.ofArray(out));
        }
        float[] result = new float[out.length];
        for (int i = 0; i < out.length; i++) {
            result[i] = out[i] == POISON ? Float.NaN : BFloat16.toFloat(out[i]);
        }
        return result;
    }

    /** bf16 bits of {@code values}, then {@code poisoned} NaN elements. */
    private static short[] bits(float[] values, int poisoned) {
        short[] bits = new short[values.length + poisoned];
        for (int i = 0; i < values.length; i++) bits[i] = BFloat16.fromFloat(values[i]);
        for (int i = values.length; i < bits.length; i++) bits[i] = (short) 0x7FC1;
        return bits;
    }

    private static DeviceBuffer upload(short[] bits) {
        DeviceBuffer buffer = backend.context().allocate(2L * bits.length);
        buffer.copyFromHost(MemorySegment.ofArray(bits));
        return buffer;
    }

    /** The reference on every head; heads outside the index are NaN, as the poisoned device output reads. */
    private static double[] cpuReference(Problem problem, SparseIndex index) {
        AttentionShape shape = problem.shape();
        int length = problem.length();
        float[] out = new float[length * shape.queryDim()];
        java.util.Arrays.fill(out, Float.NaN);
        try (Tensor q = Tensor.ofFloats(problem.q(), length, shape.queryDim());
             Tensor k = Tensor.ofFloats(problem.k(), length, shape.kvDim());
             Tensor v = Tensor.ofFloats(problem.v(), length, shape.kvDim());
             Tensor o = Tensor.ofFloats(out, length, shape.queryDim())) {
            CpuSparseAttention.attend(shape, q, k, v, o, index);
            return toDouble(o.toFloatArray());
        }
    }

    /** Every element of the index's heads written and finite; every other element still poison. */
    private static void assertHeads(Problem problem, SparseIndex index, float[] actual, String seed) {
        int d = problem.shape().headDim();
        int queryDim = problem.shape().queryDim();
        for (int i = 0; i < actual.length; i++) {
            int head = (i % queryDim) / d;
            boolean inIndex = head >= index.firstHead() && head < index.firstHead() + index.heads();
            int at = i;
            if (inIndex) {
                assertFalse(Float.isNaN(actual[i]) || Float.isInfinite(actual[i]), () -> seed + ": element " + at
                        + " (query " + at / queryDim + ", head " + head + ") is " + actual[at]
                        + ": unwritten or not finite");
            } else {
                assertTrue(Float.isNaN(actual[i]), () -> seed + ": element " + at + " of head " + head
                        + ", outside the index, was written");
            }
        }
    }

    /** ||actual - expected|| / ||expected|| over the elements the reference defines (NaN there: skipped). */
    private static double relativeError(float[] actual, double[] expected) {
        assertEquals(expected.length, actual.length);
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            if (Double.isNaN(expected[i])) continue;
            double e = actual[i] - expected[i];
            diff += e * e;
            norm += expected[i] * expected[i];
        }
        return norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
    }

    private static double[] toDouble(float[] values) {
        double[] result = new double[values.length];
        for (int i = 0; i < values.length; i++) result[i] = values[i];
        return result;
    }
}
