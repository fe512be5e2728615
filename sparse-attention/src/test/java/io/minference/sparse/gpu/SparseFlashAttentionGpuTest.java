package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.flash.FlashPrefill;
import io.minference.kernels.flash.HopperFlashLoop;
import io.minference.kernels.flash.PrefillKernel;
import io.minference.ptx.PtxTarget;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.LaunchShape;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.GpuTests;
import io.minference.sparse.CpuSparseAttention;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.gpu.SparseAttentionChecks.Problem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.IntUnaryOperator;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static io.minference.sparse.gpu.SparseAttentionChecks.assertHeads;
import static io.minference.sparse.gpu.SparseAttentionChecks.assertLongestFirst;
import static io.minference.sparse.gpu.SparseAttentionChecks.assertMatchesReference;
import static io.minference.sparse.gpu.SparseAttentionChecks.assertRowsWithinBounds;
import static io.minference.sparse.gpu.SparseAttentionChecks.cpuReference;
import static io.minference.sparse.gpu.SparseAttentionChecks.relativeError;
import static io.minference.sparse.gpu.SparseAttentionChecks.toDouble;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The sparse tensor-core kernels on a real GPU, each family ({@link PrefillKernel#HOPPER}: wgmma and TMA, sm_90
 * only; {@link PrefillKernel#MMA_SYNC}), against {@link CpuSparseAttention} on the same bf16-rounded inputs: fresh
 * random inputs per run (the seed is in every message), the output poisoned with NaN bits first and the cache rows
 * past the prompt poisoned too; every element of the index's heads must be written and finite, every other head's
 * element left exactly as poisoned, the norm-wise relative error at most 1e-2 and every output row (query, head)
 * within {@code 2^-6} of its largest expected magnitude plus {@code 2^-10} (the worst rows are listed on failure). A
 * dense index must reproduce the dense mma.sync flash kernel bit for bit through the mma.sync sparse kernel, and the
 * dense Hopper kernel within the same bounds through the Hopper one (its tiles differ: 64 keys, not 128).
 */
@Tag("gpu")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SparseFlashAttentionGpuTest {
        private static final short POISON = (short) 0xFFFF;
    private static final int[] LENGTHS = {1, 63, 64, 65, 1000, 4099};

    private static CudaBackend backend;

    @BeforeAll
    static void open() {
        backend = GpuTests.openOrSkip();
    }

    @AfterAll
    static void close() {
        if (backend != null) backend.close();
    }

    enum Pattern { VERTICAL_SLASH, A_SHAPE, BLOCK_SPARSE, MIXED }

    static final PrefillKernel[] FAMILIES = {PrefillKernel.HOPPER, PrefillKernel.MMA_SYNC};

    /** Every case once per family. */
    private static Stream<Arguments> perFamily(List<Arguments> cases) {
        return Stream.of(FAMILIES).flatMap(family -> cases.stream().map(c -> {
            Object[] rest = c.get();
            Object[] all = new Object[rest.length + 1];
            all[0] = family;
            System.arraycopy(rest, 0, all, 1, rest.length);
            return Arguments.of(all);
        }));
    }

    /** Skips the Hopper family below sm_90. */
    private static void assumeRuns(PrefillKernel family) {
        assumeTrue(family != PrefillKernel.HOPPER || backend.device().runs(PtxTarget.SM_90A),
                () -> "the Hopper kernels need sm_90, have " + backend.device());
    }

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
        return perFamily(cases);
    }

    @ParameterizedTest(name = "{0} {3} {1}, {2} tokens, heads from {4} ({5})")
    @MethodSource("sparseCases")
    void matchesTheCpuReference(PrefillKernel family, AttentionShape shape, int length, Pattern pattern,
                                int firstHead, int heads) {
        checkAgainstTheCpuReference(family, HopperSparseFlashPrefill.Variant.DEFAULT, shape, length, pattern,
                firstHead, heads);
    }

    /**
     * The variants built from the baseline (whole-tile range copies, gathers waited for), run in the grid's order, as
     * the CPU-reference cases always have (the default's head-major order is a grid order too).
     */
    private static final HopperSparseFlashPrefill.Variant GRID_ORDER =
            HopperSparseFlashPrefill.Variant.BASELINE.withOrder(LaunchOrder.LAST_FIRST);

    /**
     * The Hopper kernel at 128 keys a step (two consumer warpgroups taking alternate steps of two tiles, merged at
     * the end), eager and lazy, waiting for its gathered columns and not, on the Hopper cases.
     */
    @ParameterizedTest(name = "{0} {3} {1}, {2} tokens, heads from {4} ({5})")
    @MethodSource("twoTileCases")
    void twoTilesAStepMatchTheCpuReference(String setting, AttentionShape shape, int length, Pattern pattern,
                                           int firstHead, int heads) {
        String[] parts = setting.split(" ");
        checkAgainstTheCpuReference(PrefillKernel.HOPPER, GRID_ORDER.withKeysPerStep(128)
                .withSchedule(HopperFlashLoop.Schedule.parse(parts[0])).withGather(GatherArrival.parse(parts[1])),
                shape, length, pattern, firstHead, heads);
    }

    static Stream<Arguments> twoTileCases() {
        return hopperCasesPer("plain wait", "lazy async", "lazy,warp warp");
    }

    /** The Hopper cases once per setting, the setting in the family's place. */
    private static Stream<Arguments> hopperCasesPer(String... settings) {
        return Stream.of(settings).flatMap(setting -> sparseCases()
                .filter(c -> c.get()[0] == PrefillKernel.HOPPER).map(c -> {
                    Object[] all = c.get().clone();
                    all[0] = setting;
                    return Arguments.of(all);
                }));
    }

    /**
     * Range tiles in boxes ({@link HopperSparseFlashPrefill.Variant#rangeBox}: a tile filled box by box through the
     * slot's ranges, by TMA copies of 32, 16 or 8 keys at any row, a box past the last range copied from beyond the
     * maps' rows, so zeros), with the waiting producer and with warp arrivals, on the Hopper cases; and the default
     * with waited gathers instead of the copy engine's arrivals.
     */
    @ParameterizedTest(name = "{0} {3} {1}, {2} tokens, heads from {4} ({5})")
    @MethodSource("rangeBoxCases")
    void rangeBoxesMatchTheCpuReference(String setting, AttentionShape shape, int length, Pattern pattern,
                                        int firstHead, int heads) {
        checkAgainstTheCpuReference(PrefillKernel.HOPPER, HopperSparseFlashPrefill.Variant.parse(setting), shape,
                length, pattern, firstHead, heads);
    }

    static Stream<Arguments> rangeBoxCases() {
        return hopperCasesPer("range-box=32", "range-box=16", "range-box=8",
                "range-box=16 gather=warp schedule=lazy,warp", "schedule=overlap,lazy,lag",
                "range-box=8 gather=wait schedule=overlap,lag", "gather=wait");
    }

    /** The Hopper cases once per schedule other than the default (lazy) one. */
    static Stream<Arguments> scheduleCases() {
        return hopperCasesPer("plain", "overlap", "overlap,lazy", "overlap,lazy,lag");
    }

    /**
     * The Hopper kernel with the other schedules (plain: the accumulator rescaled every step, where the default lazy
     * one rescales only where a row's maximum moved; overlap: the softmax under the previous P V; lag: V a step behind K
     * in the ring), on the same cases;
     * a lazy schedule must also give the bits of its eager twin.
     */
    @ParameterizedTest(name = "{0} {3} {1}, {2} tokens, heads from {4} ({5})")
    @MethodSource("scheduleCases")
    void theOtherSchedulesMatchTheCpuReference(String setting, AttentionShape shape, int length, Pattern pattern,
                                               int firstHead, int heads) {
        checkAgainstTheCpuReference(PrefillKernel.HOPPER, GRID_ORDER.withSchedule(HopperFlashLoop.Schedule.parse(
                setting)), shape, length, pattern, firstHead, heads);
    }

    /**
     * The Hopper kernel whose producer lets the copy engine arrive for its gathered columns, and the one whose
     * producer and consumers arrive once per warp, give the bits of the one whose threads wait and arrive one by one,
     * on every case (the same arithmetic in the same order; only the hand-over differs, so a missing fence or a
     * miscounted arrival shows as stale or hanging tiles).
     */
    @ParameterizedTest(name = "{2} {0}, {1} tokens, heads from {3} ({4})")
    @MethodSource("asyncGatherCases")
    void theAsyncGatherGivesTheWaitingBits(AttentionShape shape, int length, Pattern pattern, int firstHead,
                                           int heads) {
        assumeRuns(PrefillKernel.HOPPER);
        DrawnCase drawn = DrawnCase.draw(shape, length, pattern, firstHead, heads);
        SparseIndex index = drawn.index();
        Problem problem = drawn.problem();
        String context = "async gather, " + drawn.describe();
        HopperSparseFlashPrefill.Variant waiting = HopperSparseFlashPrefill.Variant.BASELINE;
        float[] expected = runSparse(problem, index, PrefillKernel.HOPPER, waiting.withGather(GatherArrival.WAIT));
        float[] actual = runSparse(problem, index, PrefillKernel.HOPPER, waiting.withGather(GatherArrival.ASYNC));
        float[] byWarps = runSparse(problem, index, PrefillKernel.HOPPER, waiting.withGather(GatherArrival.WARP)
                .withSchedule(HopperFlashLoop.Schedule.parse("warp")));
        assertSameBits(expected, byWarps, context + ", warp arrivals");
        assertHeads(problem, index, actual, context);
        System.out.printf("async gather %s %s T=%d: %d of %d elements differ from the waiting gather%n", pattern,
                shape, length, differingBits(expected, actual), actual.length);
        assertSameBits(expected, actual, context + ", against the waiting gather");
    }

    /**
     * The Hopper kernel with paired query blocks (one block, two consumers, one key stream) gives the bits of the one
     * block per query block, on every case (odd block counts leave the last pair with one slot), in both launch
     * orders and with the lazy, warp-release schedule: each consumer computes its slot's tiles in the same order with
     * the same positions, so a wrong merge of the two slots' ranges, a tile given to the wrong consumer or a stage
     * released early shows as differing or stale rows; the pairs' rows also stay within the CPU reference's bounds.
     */
    @ParameterizedTest(name = "{2} {0}, {1} tokens, heads from {3} ({4})")
    @MethodSource("asyncGatherCases")
    void pairedBlocksGiveTheSingleBlockBits(AttentionShape shape, int length, Pattern pattern, int firstHead,
                                            int heads) {
        assumeRuns(PrefillKernel.HOPPER);
        assertGroupingGivesTheSingleBlockBits(DrawnCase.draw(shape, length, pattern, firstHead, heads), "pairs",
                variant -> variant.withPairs(true), "lazy,warp");
    }

    /**
     * The Hopper kernel with query blocks 2p and 2p + 1 in a two-block cluster (one key-step sequence, a range tile
     * both slots take multicast, private tiles of both blocks paired into one step where the walk can tell, column
     * step j each block's own j-th column tile) gives the bits of the single-slot
     * kernel with whole-tile range copies and waited gathers, on every case (odd block counts leave the last
     * cluster's second block without a slot), in both launch orders and with the plain schedule: each consumer
     * computes its slot's tiles in the same order with the same positions, so a wrong merge, a multicast tile missing
     * in one block or a stage refilled before both blocks released it shows as differing or stale rows (or a hang);
     * the clusters' rows also stay within the CPU reference's bounds.
     */
    @ParameterizedTest(name = "{2} {0}, {1} tokens, heads from {3} ({4})")
    @MethodSource("asyncGatherCases")
    void clusteredBlocksGiveTheSingleBlockBits(AttentionShape shape, int length, Pattern pattern, int firstHead,
                                               int heads) {
        assumeRuns(PrefillKernel.HOPPER);
        assertGroupingGivesTheSingleBlockBits(DrawnCase.draw(shape, length, pattern, firstHead, heads), "clusters",
                variant -> variant.withCluster(true), "plain");
    }

    /**
     * Query blocks grouped by {@code grouping} (pairs in one block, or two-block clusters) give the single-slot
     * kernel's bits ({@link HopperSparseFlashPrefill.Variant#BASELINE}: whole-tile range copies, waited gathers) in
     * both launch orders, and those of the single-slot kernel with {@code schedule} too; the grouped rows also stay
     * within the CPU reference's bounds.
     */
    private static void assertGroupingGivesTheSingleBlockBits(DrawnCase drawn, String name,
                                                              UnaryOperator<HopperSparseFlashPrefill.Variant> grouping,
                                                              String schedule) {
        SparseIndex index = drawn.index();
        Problem problem = drawn.problem();
        String context = name + ", " + drawn.describe();
        HopperSparseFlashPrefill.Variant single = HopperSparseFlashPrefill.Variant.BASELINE;
        HopperSparseFlashPrefill.Variant other = single.withSchedule(HopperFlashLoop.Schedule.parse(schedule));
        float[] expected = runSparse(problem, index, PrefillKernel.HOPPER, single);
        float[] grouped = runSparse(problem, index, PrefillKernel.HOPPER, grouping.apply(single));
        assertHeads(problem, index, grouped, context);
        assertSameBits(expected, grouped, context + ", longest first");
        assertSameBits(expected, runSparse(problem, index, PrefillKernel.HOPPER, grouping.apply(single)
                .withOrder(LaunchOrder.LAST_FIRST)), context + ", grid order");
        assertSameBits(runSparse(problem, index, PrefillKernel.HOPPER, other), runSparse(problem, index,
                PrefillKernel.HOPPER, grouping.apply(other)), context + ", " + schedule);
        System.out.printf("%s, %s: the single-block bits in both orders and %s%n", name, drawn.describe(), schedule);
    }

    /**
     * The persistent kernel (a grid of two blocks per SM walking the longest-first list, each taking its units in
     * turn) gives the bits of a block per unit, on every case, with waited and copy-engine gathers, lazy and plain,
     * and with pairs: the same steps of each slot in the same order, so a stage or Q reused too early shows as
     * differing rows.
     */
    @ParameterizedTest(name = "{2} {0}, {1} tokens, heads from {3} ({4})")
    @MethodSource("asyncGatherCases")
    @Order(Integer.MAX_VALUE) // last: it hung in sessions 18-19 (a register request, fixed); a hang stops no other
    void persistentBlocksGiveTheBlockPerUnitBits(AttentionShape shape, int length, Pattern pattern, int firstHead,
                                                 int heads) {
        assumeRuns(PrefillKernel.HOPPER);
        DrawnCase drawn = DrawnCase.draw(shape, length, pattern, firstHead, heads);
        SparseIndex index = drawn.index();
        Problem problem = drawn.problem();
        String context = "persistent, " + drawn.describe();
        HopperSparseFlashPrefill.Variant lazy = HopperSparseFlashPrefill.Variant.BASELINE;
        HopperSparseFlashPrefill.Variant plainAsync = lazy.withSchedule(HopperFlashLoop.Schedule.PLAIN)
                .withGather(GatherArrival.ASYNC);
        for (HopperSparseFlashPrefill.Variant variant : List.of(lazy, plainAsync, lazy.withPairs(true))) {
            // said before each launch, so that a launch that never finishes is named in the log (session 18's first
            // GPU run of this test stopped in its first case, d 64, one token, 32 heads, without saying which)
            System.out.printf("persistent: %s, a block per unit, then persistent; %s%n", variant.describe(), context);
            float[] expected = runSparse(problem, index, PrefillKernel.HOPPER, variant);
            System.out.printf("persistent: %s, a block per unit done%n", variant.describe());
            float[] persistent = runSparse(problem, index, PrefillKernel.HOPPER, variant.withPersistent(true));
            assertHeads(problem, index, persistent, context);
            assertSameBits(expected, persistent, context + ", " + variant.describe());
        }
        System.out.printf("persistent %s %s T=%d: a block per unit's bits, lazy, plain with async gathers, pairs%n",
                pattern, shape, length);
    }

    /** A case's index and inputs, drawn from a printed seed. */
    private record DrawnCase(long seed, SparseIndex index, Problem problem) {
        static DrawnCase draw(AttentionShape shape, int length, Pattern pattern, int firstHead, int heads) {
            long seed = System.nanoTime();
            Random random = new Random(seed);
            int count = heads < 0 ? shape.numHeads() - firstHead : heads;
            SparseIndex index = caseIndex(pattern, random, firstHead, count, length);
            return new DrawnCase(seed, index, Problem.random(shape, length, random));
        }

        String describe() {
            return "seed " + seed + ", " + TestIndexes.describe(index);
        }
    }

    private static int differingBits(float[] expected, float[] actual) {
        int differing = 0;
        for (int i = 0; i < actual.length; i++) {
            if (Float.floatToRawIntBits(actual[i]) != Float.floatToRawIntBits(expected[i])) differing++;
        }
        return differing;
    }

    private static void assertSameBits(float[] expected, float[] actual, String context) {
        int differences = differingBits(expected, actual);
        assertEquals(0, differences, () -> context + ": " + differences + " of " + actual.length
                + " elements differ");
    }

    /** The index of a test case's pattern over heads {@code [firstHead, firstHead + count)}. */
    private static SparseIndex caseIndex(Pattern pattern, Random random, int firstHead, int count, int length) {
        return switch (pattern) {
            case VERTICAL_SLASH -> TestIndexes.verticalSlash(random, firstHead, count, length, 150, 90);
            case A_SHAPE -> TestIndexes.aShape(firstHead, count, length, 100, 300);
            case BLOCK_SPARSE -> TestIndexes.blockSparse(random, firstHead, count, length, 0.2);
            case MIXED -> TestIndexes.mixed(random, firstHead, count, length);
        };
    }

    /** The Hopper cases of {@link #sparseCases}, without their family. */
    static Stream<Arguments> asyncGatherCases() {
        return sparseCases().filter(c -> c.get()[0] == PrefillKernel.HOPPER)
                .map(c -> Arguments.of(Arrays.copyOfRange(c.get(), 1, c.get().length)));
    }

    /** One case against the reference; with a lazy Hopper schedule, also bit for bit against its eager twin. */
    private static void checkAgainstTheCpuReference(PrefillKernel family, HopperSparseFlashPrefill.Variant variant,
                                                    AttentionShape shape, int length, Pattern pattern, int firstHead,
                                                    int heads) {
        HopperFlashLoop.Schedule schedule = variant.schedule();
        assumeRuns(family);
        long seed = System.nanoTime();
        Random random = new Random(seed);
        int count = heads < 0 ? shape.numHeads() - firstHead : heads;
        SparseIndex index = caseIndex(pattern, random, firstHead, count, length);
        Problem problem = Problem.random(shape, length, random);
        float[] actual = runSparse(problem, index, family, variant);
        String label = family == PrefillKernel.HOPPER ? variant.describe() : family.setting();
        String context = label + ", seed " + seed;
        assertMatchesReference(problem, index, actual, label + " " + pattern + " " + shape + " T=" + length + " heads "
                + firstHead + ".." + (firstHead + count - 1) + ", " + TestIndexes.describe(index) + ", seed " + seed);
        if (family == PrefillKernel.HOPPER && schedule.lazyRescale()) {
            HopperFlashLoop.Schedule eager = new HopperFlashLoop.Schedule(false, schedule.overlapSoftmax(), false);
            float[] twin = runSparse(problem, index, family, variant.withSchedule(eager));
            int differing = 0;
            for (int i = 0; i < actual.length; i++) {
                if (Float.floatToRawIntBits(actual[i]) != Float.floatToRawIntBits(twin[i])) differing++;
            }
            int differences = differing;
            assertEquals(0, differences, () -> context + ": " + differences + " elements differ from the eager"
                    + " schedule " + (eager.overlapSoftmax() ? "overlap" : "plain"));
        }
    }

    static Stream<Arguments> denseCases() {
        List<Arguments> cases = new ArrayList<>();
        for (int d : new int[] {64, 128}) {
            for (int length : LENGTHS) cases.add(Arguments.of(new AttentionShape(6, 2, d), length));
        }
        cases.add(Arguments.of(new AttentionShape(32, 8, 128), 4099));
        return perFamily(cases);
    }

    /**
     * A full index through the sparse path equals the dense mma.sync kernel bit for bit: both run
     * {@link io.minference.kernels.flash.FlashKeyLoop} over the same 64-key tiles in the same order (the dense
     * kernel's 128-row blocks only add fully masked tiles, whose zero weights leave the accumulators unchanged).
     */
    @ParameterizedTest(name = "{0} dense index {1}, {2} tokens")
    @MethodSource("denseCases")
    void denseIndexEqualsTheDenseFlashKernelBitForBit(PrefillKernel family, AttentionShape shape, int length) {
        assumeRuns(family);
        long seed = System.nanoTime();
        Problem problem = Problem.random(shape, length, new Random(seed));
        SparseIndex index = TestIndexes.dense(0, shape.numHeads(), length);
        float[] actual = runSparse(problem, index, family);
        assertHeads(problem, index, actual, family.setting() + ", seed " + seed);
        if (family == PrefillKernel.HOPPER) {
            float[] dense;
            try (FlashAttention flash = new FlashAttention(backend.context(), shape, family)) {
                dense = run(problem, (q, k, v, out) -> flash.prefill(backend.stream(), q, k, v, out, length, 0));
            }
            double error = relativeError(actual, toDouble(dense));
            System.out.printf("hopper dense index %s T=%d: relative error to the dense Hopper kernel %.2e%n", shape,
                    length, error);
            assertRowsWithinBounds(shape, actual, toDouble(dense), "hopper, seed " + seed);
            return;
        }
        float[] dense = runDense(problem);
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

    static Stream<Arguments> orderCases() {
        List<Arguments> cases = new ArrayList<>();
        for (int d : new int[] {64, 128}) {
            for (int length : new int[] {63, 1000, 4099}) {
                cases.add(Arguments.of(new AttentionShape(6, 2, d), length, Pattern.MIXED));
                cases.add(Arguments.of(new AttentionShape(32, 8, d), length, Pattern.VERTICAL_SLASH));
            }
        }
        return cases.stream();
    }

    /**
     * The longest-first order ({@link LaunchOrder#LONGEST_FIRST}: the slots sorted on the device, each block reading
     * its slot from the list) and the head-major grid ({@link LaunchOrder#HEAD_MAJOR}) compute what the grid's order
     * does, bit for bit, within the reference's per-row bounds: first over slots [2, 5) of the index only (a launch
     * that starts past slot 0, the other heads left poisoned), then over all of it with the same object (its list
     * grows).
     */
    @ParameterizedTest(name = "longest-first {2} {0}, {1} tokens")
    @MethodSource("orderCases")
    void longestFirstOrderEqualsTheGridOrderBitForBit(AttentionShape shape, int length, Pattern pattern) {
        assumeRuns(PrefillKernel.HOPPER);
        long seed = System.nanoTime();
        Random random = new Random(seed);
        SparseIndex host = pattern == Pattern.MIXED ? TestIndexes.mixed(random, 0, shape.numHeads(), length)
                : TestIndexes.verticalSlash(random, 0, shape.numHeads(), length, 150, 90);
        Problem problem = Problem.random(shape, length, random);
        String context = "seed " + seed + ", " + TestIndexes.describe(host);
        List<float[]> outputs = new ArrayList<>();
        for (LaunchOrder order : LaunchOrder.values()) {
            try (SparseFlashAttention attention = new SparseFlashAttention(backend.context(), shape,
                    PrefillKernel.HOPPER, HopperSparseFlashPrefill.Variant.BASELINE.withOrder(order));
                 DeviceSparseIndex index = DeviceSparseIndex.upload(backend.context(), host)) {
                outputs.add(run(problem, (q, k, v, out) -> attention.launch(backend.stream(), q, k, v, out, index,
                        2, 3)));
                outputs.add(run(problem, (q, k, v, out) -> attention.launch(backend.stream(), q, k, v, out, index)));
            }
        }
        float[] part = outputs.get(2);
        int d = shape.headDim();
        for (int i = 0; i < part.length; i++) {
            int head = (i % shape.queryDim()) / d;
            int at = i;
            assertEquals(head >= 2 && head < 5, !Float.isNaN(part[i]), () -> context + ": element " + at + " of head "
                    + head + " after a launch of slots [2, 5): " + part[at]);
        }
        assertHeads(problem, host, outputs.get(3), context);
        assertRowsWithinBounds(shape, outputs.get(3), cpuReference(problem, host), context);
        for (int order = 1; order < LaunchOrder.values().length; order++) {
            for (int launch = 0; launch < 2; launch++) {
                int count = differingBits(outputs.get(launch), outputs.get(2 * order + launch));
                String name = LaunchOrder.values()[order].setting();
                System.out.printf("%s %s %s T=%d, %s launch: %d elements differ from the grid order%n", name,
                        pattern, shape, length, launch == 0 ? "slots [2, 5)" : "whole", count);
                assertEquals(0, count, () -> context + ": " + count + " elements of the " + name
                        + " order differ from the grid order");
            }
        }
    }

    /**
     * {@link SlotOrder}'s list, read back: every slot of the launch exactly once, their tile counts (as
     * {@link SparseIndex#tiles(int, int)} gives them on the host) never rising by more than a bucket's width along
     * the list, for a launch from slot 0 and one from a later head.
     */
    @ParameterizedTest(name = "slot order from head {0}, {1} tokens, pairs {2}")
    @CsvSource({"0, 4099, false", "2, 4099, false", "0, 63, false", "1, 20000, false", "0, 4099, true",
            "2, 4163, true", "0, 63, true", "1, 20000, true"})
    void theSlotOrderIsAPermutationLongestFirst(int firstSlot, int length, boolean pairs) {
        assumeRuns(PrefillKernel.HOPPER);
        long seed = System.nanoTime();
        AttentionShape shape = new AttentionShape(6, 2, 64);
        SparseIndex host = TestIndexes.mixed(new Random(seed), 0, shape.numHeads(), length);
        int queryBlocks = host.queryBlocks();
        // a unit is a slot, or a pair of query blocks of a head (the last one alone when their count is odd)
        int perUnit = pairs ? 2 : 1;
        int unitsPerHead = (queryBlocks + perUnit - 1) / perUnit;
        int slots = (shape.numHeads() - firstSlot) * unitsPerHead;
        int[] order = new int[slots];
        try (SparseFlashAttention attention = new SparseFlashAttention(backend.context(), shape,
                PrefillKernel.HOPPER, HopperSparseFlashPrefill.Variant.BASELINE.withOrder(LaunchOrder.LONGEST_FIRST)
                .withPairs(pairs));
             DeviceSparseIndex index = DeviceSparseIndex.upload(backend.context(), host)) {
            DeviceBuffer list = attention.sortSlots(backend.stream(), index, (long) firstSlot * queryBlocks, slots);
            backend.stream().synchronize();
            list.copyToHost(MemorySegment.ofArray(order));
        }
        assertLongestFirst(order, host, firstSlot, pairs, "seed " + seed);
        System.out.printf("slot order from slot %d, T=%d, pairs %b: %d units%n", firstSlot, length, pairs, slots);
    }

    @Test
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
    private interface Launch {
        void launch(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer out);
    }

    private static float[] runSparse(Problem problem, SparseIndex host, PrefillKernel family) {
        return runSparse(problem, host, family, GRID_ORDER);
    }

    private static float[] runSparse(Problem problem, SparseIndex host, PrefillKernel family,
                                     HopperSparseFlashPrefill.Variant variant) {
        try (SparseFlashAttention attention = new SparseFlashAttention(backend.context(), problem.shape(), family,
                variant);
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
}
