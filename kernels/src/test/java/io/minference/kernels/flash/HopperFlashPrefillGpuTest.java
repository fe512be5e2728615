package io.minference.kernels.flash;

import io.minference.kernels.attention.AttentionShape;
import io.minference.ptx.Ptxas;
import io.minference.ptx.PtxTarget;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.GpuTests;
import io.minference.runtime.cuda.LaunchShape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Hopper prefill ({@link HopperFlashPrefill}, chosen with {@link PrefillKernel#HOPPER}) and the mma.sync one
 * forced on the same device ({@link PrefillKernel#MMA_SYNC}), both against the float64 reference with a bound per
 * output row (query, head): max |error| over the row's d outputs at most {@code 2^-6} of the row's largest expected
 * magnitude plus {@code 2^-10}. Fresh inputs per case (seed printed), the output and the cache rows past the
 * attended prefix poisoned with NaN, lengths that are and are not multiples of the 128-row tiles, GQA groups of 1 and
 * 4, chunked prefill ({@code start > 0}). A failure lists the worst rows, with the column where each is worst.
 */
@Tag("gpu")
class HopperFlashPrefillGpuTest {
    private static CudaBackend backend;

    @BeforeAll
    static void open() {
        backend = GpuTests.openOrSkip(PtxTarget.SM_90A);
    }

    @AfterAll
    static void close() {
        if (backend != null) backend.close();
    }

    /** The driver's JIT, like ptxas, must neither serialise the wgmma pipeline nor ignore setmaxnreg. */
    @ParameterizedTest(name = "JIT of d {0}")
    @ValueSource(ints = {64, 128})
    void theJitReportsNoSlowPath(int headDim) {
        var source = HopperFlashPrefill.forHeadDim(headDim).emit(PtxTarget.SM_90A);
        String log = backend.context().module(source).infoLog();
        System.out.println(source.entryName() + " JIT info log:\n" + log);
        assertEquals(List.of(), Ptxas.slowPathAdvisories(log), () -> "the JIT log of " + source.entryName()
                + ":\n" + log);
    }

    /**
     * Other Hopper specializations than the default, launched directly (the sweep's candidates): the ping-pong and
     * softmax-overlap schedules (values lagging the keys or not), 3 stages, 64- and 192-key steps, 64-row blocks, and
     * persistent grids.
     */
    static Stream<Arguments> variants() {
        List<Arguments> cases = new ArrayList<>();
        HopperFlashLoop.Schedule pingPong = new HopperFlashLoop.Schedule(true, false);
        HopperFlashLoop.Schedule overlap = new HopperFlashLoop.Schedule(false, true);
        HopperFlashLoop.Schedule both = new HopperFlashLoop.Schedule(true, true);
        for (HopperFlashPrefill variant : List.of(new HopperFlashPrefill(128, 128, 2, pingPong),
                new HopperFlashPrefill(64, 128, 3, pingPong), new HopperFlashPrefill(128, 128, 3, overlap),
                new HopperFlashPrefill(128, 128, 3, both), new HopperFlashPrefill(64, 128, 3, both),
                new HopperFlashPrefill(128, 128, 3),
                new HopperFlashPrefill(128, 64, 4), new HopperFlashPrefill(128, 192, 2),
                new HopperFlashPrefill(128, 128, 2, HopperFlashLoop.Schedule.parse("lazy")),
                new HopperFlashPrefill(128, 128, 2), new HopperFlashPrefill(128, 128, 2,
                        HopperFlashLoop.Schedule.parse("overlap,lazy")),
                new HopperFlashPrefill(64, 128, 3, HopperFlashLoop.Schedule.parse("pingpong,overlap,lazy")),
                new HopperFlashPrefill(128, 128, 3, HopperFlashLoop.Schedule.parse("overlap,lazy,lag")),
                new HopperFlashPrefill(64, 128, 3, HopperFlashLoop.Schedule.parse("pingpong,overlap,lazy,lag")),
                new HopperFlashPrefill(128, 64, 64, 3, HopperFlashLoop.Schedule.PLAIN),
                new HopperFlashPrefill(128, 128, 128, 2, HopperFlashLoop.Schedule.PLAIN, true),
                new HopperFlashPrefill(128, 64, 64, 3, HopperFlashLoop.Schedule.parse("lazy"), true))) {
            AttentionShape shape = new AttentionShape(8, 2, variant.headDim());
            cases.add(Arguments.of(variant, shape, 1000, 0));
            cases.add(Arguments.of(variant, shape, 4097, 0));
            cases.add(Arguments.of(variant, shape, 129, 1000));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1}, {2} queries from {3}")
    @MethodSource("variants")
    void variantsMatchFloat64RowByRow(HopperFlashPrefill variant, AttentionShape shape, int count, int start) {
        long seed = System.nanoTime();
        AttentionProblem problem = AttentionProblem.random(shape, count, start, seed);
        String context = variant.entryName() + ", seed " + seed + " on " + backend.device().name();
        var kernel = backend.context().kernel(variant.emit(PtxTarget.SM_90A), LaunchShape.of(1, 32));
        float[] actual = FlashAttentionGpuTest.run(backend, problem,
                new FlashAttention(backend.context(), shape, PrefillKernel.HOPPER), (unused, q, k, v, o) ->
                        variant.launch(kernel, backend.stream(), q, k, v, o, count, start, shape, shape.numHeads()));
        assertRowsWithinBounds(problem, actual, context, variant.entryName());
    }

    /**
     * The 64-row kernel with neighbouring query blocks paired in two-block clusters that share their key tiles by TMA
     * multicast ({@link HopperFlashPrefill#cluster}): odd query-block counts (the last pair's second block has no rows)
     * and even ones, GQA groups of 4 and 1, chunked prefill, head dims 128 and 64, 64- and 128-key steps.
     */
    static Stream<Arguments> clusterVariants() {
        List<Arguments> cases = new ArrayList<>();
        HopperFlashLoop.Schedule lazy = HopperFlashLoop.Schedule.parse("lazy");
        for (HopperFlashPrefill variant : List.of(new HopperFlashPrefill(128, 64, 64, 3, lazy, false, true),
                new HopperFlashPrefill(128, 64, 64, 2, HopperFlashLoop.Schedule.PLAIN, false, true),
                new HopperFlashPrefill(64, 64, 64, 3, HopperFlashLoop.Schedule.parse("lazy,warp"), false, true),
                new HopperFlashPrefill(64, 64, 128, 2, lazy, false, true))) {
            AttentionShape gqa = new AttentionShape(8, 2, variant.headDim());
            for (int count : new int[] {1, 64, 100, 384, 1000, 4097}) {
                cases.add(Arguments.of(variant, gqa, count, 0));
            }
            cases.add(Arguments.of(variant, new AttentionShape(4, 4, variant.headDim()), 300, 0));
            cases.add(Arguments.of(variant, gqa, 129, 1000));
            cases.add(Arguments.of(variant, gqa, 1000, 333));
        }
        return cases.stream();
    }

    /**
     * Each cluster variant against the float64 reference, and against the same kernel without clusters bit for bit:
     * each block sees its own key tiles in the same order, the pair's other steps skipped.
     */
    @ParameterizedTest(name = "{0} {1}, {2} queries from {3}")
    @MethodSource("clusterVariants")
    void clusterPairsMatchFloat64AndTheUnpairedBits(HopperFlashPrefill variant, AttentionShape shape, int count,
                                                     int start) {
        long seed = System.nanoTime();
        AttentionProblem problem = AttentionProblem.random(shape, count, start, seed);
        String context = variant.entryName() + ", seed " + seed + " on " + backend.device().name();
        HopperFlashPrefill unpaired = new HopperFlashPrefill(variant.headDim(), variant.blockM(), variant.blockN(),
                variant.stages(), variant.schedule());
        List<float[]> outputs = new ArrayList<>();
        for (HopperFlashPrefill kernelShape : List.of(unpaired, variant)) {
            var kernel = backend.context().kernel(kernelShape.emit(PtxTarget.SM_90A), LaunchShape.of(1, 32));
            outputs.add(FlashAttentionGpuTest.run(backend, problem,
                    new FlashAttention(backend.context(), shape, PrefillKernel.HOPPER), (unused, q, k, v, o) ->
                            kernelShape.launch(kernel, backend.stream(), q, k, v, o, count, start, shape,
                                    shape.numHeads())));
        }
        assertRowsWithinBounds(problem, outputs.get(1), context, variant.entryName());
        int differing = 0;
        for (int i = 0; i < outputs.get(0).length; i++) {
            if (Float.floatToRawIntBits(outputs.get(0)[i]) != Float.floatToRawIntBits(outputs.get(1)[i])) differing++;
        }
        int differences = differing;
        assertEquals(0, differences, () -> context + ": " + differences + " elements differ from "
                + unpaired.entryName());
    }

    /**
     * The lazy rescale (the accumulator multiplied only in steps where a row of the warp has a new maximum) gives the
     * same bits as rescaling every step, since the factors it skips are exactly 1: with each schedule, on fresh
     * random inputs, whose maxima move often early in a row and rarely later.
     */
    @ParameterizedTest(name = "lazy rescale, {0}")
    @ValueSource(strings = {"plain", "pingpong", "overlap", "pingpong,overlap"})
    void theLazyRescaleGivesTheSameBits(String setting) {
        HopperFlashLoop.Schedule eager = HopperFlashLoop.Schedule.parse(setting);
        HopperFlashLoop.Schedule lazy = HopperFlashLoop.Schedule.parse(setting + ",lazy");
        int stages = eager.overlapSoftmax() ? 3 : 2;
        AttentionShape shape = new AttentionShape(8, 2, 128);
        int count = 4097;
        int start = 100;
        long seed = System.nanoTime();
        AttentionProblem problem = AttentionProblem.random(shape, count, start, seed);
        List<float[]> outputs = new ArrayList<>();
        for (HopperFlashLoop.Schedule schedule : List.of(eager, lazy)) {
            HopperFlashPrefill variant = new HopperFlashPrefill(128, 128, stages, schedule);
            var kernel = backend.context().kernel(variant.emit(PtxTarget.SM_90A), LaunchShape.of(1, 32));
            outputs.add(FlashAttentionGpuTest.run(backend, problem,
                    new FlashAttention(backend.context(), shape, PrefillKernel.HOPPER), (unused, q, k, v, o) ->
                            variant.launch(kernel, backend.stream(), q, k, v, o, count, start, shape,
                                    shape.numHeads())));
        }
        int differing = 0;
        for (int i = 0; i < outputs.get(0).length; i++) {
            if (Float.floatToRawIntBits(outputs.get(0)[i]) != Float.floatToRawIntBits(outputs.get(1)[i])) differing++;
        }
        int differences = differing;
        System.out.printf("lazy rescale, %s: %d elements differ (seed %d)%n", setting, differences, seed);
        assertEquals(0, differences, () -> "seed " + seed + ": " + differences + " elements differ between " + setting
                + " and " + setting + ",lazy");
        assertRowsWithinBounds(problem, outputs.get(1), "lazy " + setting + ", seed " + seed, setting + ",lazy");
    }

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (PrefillKernel family : new PrefillKernel[] {PrefillKernel.HOPPER, PrefillKernel.MMA_SYNC}) {
            AttentionShape gqa = new AttentionShape(8, 2, 128);
            for (int count : new int[] {1, 100, 128, 129, 1000, 4097}) {
                cases.add(Arguments.of(family, gqa, count, 0));
            }
            cases.add(Arguments.of(family, new AttentionShape(4, 4, 128), 300, 0));
            cases.add(Arguments.of(family, gqa, 129, 1000));
            cases.add(Arguments.of(family, gqa, 1000, 333));
            cases.add(Arguments.of(family, new AttentionShape(8, 2, 64), 1000, 0));
            cases.add(Arguments.of(family, new AttentionShape(4, 1, 64), 257, 64));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1}, {2} queries from {3}")
    @MethodSource("cases")
    void matchesFloat64RowByRow(PrefillKernel family, AttentionShape shape, int count, int start) {
        long seed = System.nanoTime();
        AttentionProblem problem = AttentionProblem.random(shape, count, start, seed);
        String context = family.setting() + ", seed " + seed + " on " + backend.device().name();
        float[] actual = run(problem, family, context);
        assertRowsWithinBounds(problem, actual, context, family.setting());
    }

    /** Max |error| per output row (query, head) at most 2^-6 of the row's largest expected magnitude plus 2^-10. */
    private static void assertRowsWithinBounds(AttentionProblem problem, float[] actual, String context,
                                               String label) {
        AttentionShape shape = problem.shape();
        int count = problem.count();
        int start = problem.start();
        double[] expected = problem.reference();
        int d = shape.headDim();
        int rows = count * shape.numHeads();
        double worst = 0;
        List<String> report = new ArrayList<>();
        for (int row = 0; row < rows; row++) {
            double rowMax = 0, maxError = 0;
            int where = 0;
            for (int i = 0; i < d; i++) {
                int at = row * d + i;
                rowMax = Math.max(rowMax, Math.abs(expected[at]));
                double error = Float.isFinite(actual[at]) ? Math.abs(actual[at] - expected[at])
                        : Double.POSITIVE_INFINITY;
                if (error > maxError) {
                    maxError = error;
                    where = i;
                }
            }
            double bound = 0x1p-6 * rowMax + 0x1p-10;
            worst = Math.max(worst, maxError / bound);
            if (maxError > bound && report.size() < 12) {
                int at = row * d + where;
                report.add("query " + row / shape.numHeads() + " (position " + (start + row / shape.numHeads())
                        + ") head " + row % shape.numHeads() + ": max error " + maxError + " > bound " + bound
                        + " at column " + where + " (got " + actual[at] + ", expected " + expected[at] + ")");
            }
        }
        System.out.printf("%s %s T=%d start=%d: worst row error / bound %.3f, norm-wise relative %.2e%n",
                label, shape, count, start, worst, AttentionProblem.relativeError(actual, expected));
        assertTrue(report.isEmpty(), () -> context + ": rows over their bound:\n  " + String.join("\n  ", report));
    }

    private static float[] run(AttentionProblem problem, PrefillKernel family, String context) {
        FlashAttention flash = new FlashAttention(backend.context(), problem.shape(), family);
        assertEquals(family == PrefillKernel.HOPPER, flash.usesHopper(), context);
        return FlashAttentionGpuTest.run(backend, problem, flash, (attention, q, k, v, o) ->
                attention.prefill(backend.stream(), q, k, v, o, problem.count(), problem.start()));
    }
}
