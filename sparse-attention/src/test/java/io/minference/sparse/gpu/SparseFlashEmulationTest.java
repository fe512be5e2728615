package io.minference.sparse.gpu;

import io.minference.kernels.WarpEmulator;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.flash.FlashPrefill;
import io.minference.kernels.flash.HopperFlashLoop;
import io.minference.ptx.PtxTarget;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.TensorMap;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.gpu.SparseAttentionChecks.Problem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.minference.sparse.gpu.SparseAttentionChecks.assertMatchesReference;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The mma.sync sparse prefill ({@link SparseFlashPrefill}, sm_80 to sm_89), its PTX run by {@link WarpEmulator}
 * without a GPU, over an index packed as {@link DeviceSparseIndex#upload} packs it: every pattern kind against the
 * CPU reference with {@link SparseAttentionChecks}' bounds (the index's heads written, the others left poisoned), and
 * a dense index bit for bit the dense kernel's output ({@link FlashPrefill}, emulated the same way: both run
 * {@link io.minference.kernels.flash.FlashKeyLoop} over the same tiles). Random inputs, seed printed.
 */
class SparseFlashEmulationTest {
    private static final short POISON = (short) 0xFFFF;

    @ParameterizedTest(name = "d {0}, {1}, {2} tokens, heads from {3} ({4})")
    @CsvSource({"64, VERTICAL_SLASH, 520, 0, 6", "64, A_SHAPE, 150, 0, 6", "64, BLOCK_SPARSE, 200, 0, 6",
            "128, MIXED, 150, 2, 3"})
    void matchesTheCpuReference(int headDim, String pattern, int length, int firstHead, int heads) {
        DrawnCase drawn = DrawnCase.fresh(headDim, pattern, firstHead, heads, length);
        drawn.assertMatchesReference(runSparse(drawn.problem(), drawn.index()), "emulated mma.sync sparse kernel, "
                + pattern + " d " + headDim + " T=" + length);
    }

    @ParameterizedTest(name = "d {0}, {1} tokens")
    @CsvSource({"64, 150", "128, 130"})
    void aDenseIndexGivesTheDenseKernelsBits(int headDim, int length) {
        long seed = System.nanoTime();
        AttentionShape shape = new AttentionShape(4, 2, headDim);
        Problem problem = Problem.random(shape, length, new Random(seed));
        float[] sparse = runSparse(problem, TestIndexes.dense(0, shape.numHeads(), length));
        float[] dense = runDense(problem);
        assertSameBits(dense, sparse, shape, "the dense kernel's; seed " + seed);
    }

    /** Every element of {@code actual} has {@code expected}'s bits; the first that has not is reported. */
    private static void assertSameBits(float[] expected, float[] actual, AttentionShape shape, String whose) {
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(actual[i]) != Float.floatToRawIntBits(expected[i])) {
                assertEquals(expected[i], actual[i], "element " + i + " (query " + i / shape.queryDim()
                        + ") differs from " + whose);
            }
        }
    }

    /**
     * The Hopper sparse kernel ({@link HopperSparseFlashPrefill}: range tiles by TMA, gathered columns by cp.async,
     * wgmma consumers), each variant, against the CPU reference with the same bounds; run by the emulator's Hopper
     * instructions, which report a deadlock (a stage never released, a barrier never completed) instead of hanging.
     */
    @ParameterizedTest(name = "{0}: d {1}, {2}, {3} tokens, heads from {4} ({5})")
    @CsvSource({"longest-first, 64, VERTICAL_SLASH, 520, 0, 6", "last-first, 128, MIXED, 300, 2, 3",
            "pairs, 64, VERTICAL_SLASH, 520, 0, 6", "pairs, 128, MIXED, 330, 1, 4", "pairs, 64, A_SHAPE, 150, 0, 6",
            "pairs, 64, BLOCK_SPARSE, 260, 0, 6", "pairs last-first, 64, VERTICAL_SLASH, 100, 0, 6",
            "async gather, 64, MIXED, 300, 0, 6", "warp, 64, VERTICAL_SLASH, 300, 0, 6",
            "128 keys a step, 64, MIXED, 300, 0, 6", "overlap lazy, 128, VERTICAL_SLASH, 260, 0, 6",
            "longest-first, 64, SCATTERED, 330, 0, 3", "pairs, 64, SCATTERED, 330, 0, 3",
            "plain, 128, VERTICAL_SLASH, 300, 1, 4", "persistent async, 128, MIXED, 300, 0, 6",
            "range boxes of 16, 64, VERTICAL_SLASH, 520, 0, 6", "range boxes of 8, 128, MIXED, 300, 0, 6",
            "range boxes of 32, 64, SCATTERED, 330, 0, 3", "range boxes of 16, 64, BLOCK_SPARSE, 260, 0, 6",
            "range boxes of 8 warp, 64, SCATTERED, 330, 0, 3", "range boxes of 16 128 keys, 64, MIXED, 300, 0, 6",
            "range boxes of 16 persistent, 64, VERTICAL_SLASH, 330, 0, 6",
            "range boxes of 16 async, 64, MIXED, 300, 0, 6", "default, 128, SCATTERED, 330, 0, 3",
            "default, 64, MIXED, 300, 0, 6", "default, 64, VERTICAL_SLASH, 520, 0, 6",
            "default warp gather, 64, MIXED, 300, 0, 6",
            "overlap lazy, 64, MIXED, 300, 0, 6",
            "default persistent, 64, VERTICAL_SLASH, 330, 0, 6", "cluster, 128, MIXED, 330, 1, 4",
            "cluster last-first, 64, VERTICAL_SLASH, 100, 0, 6", "default prefetch 2, 64, MIXED, 300, 0, 6",
            "prefetch 1, 128, SCATTERED, 330, 0, 3", "128 keys prefetch 3, 64, VERTICAL_SLASH, 520, 0, 6",
            "default lag, 128, SCATTERED, 330, 0, 3", "default lag, 64, MIXED, 300, 0, 6",
            "default lag, 64, VERTICAL_SLASH, 520, 0, 6", "default lag, 64, A_SHAPE, 150, 0, 6",
            "lag waited gathers, 64, MIXED, 300, 0, 6", "lag waited gathers, 128, BLOCK_SPARSE, 260, 0, 6",
            "lag range boxes of 8, 64, SCATTERED, 330, 0, 3", "lag range boxes of 32 async, 64, MIXED, 300, 0, 6",
            "head-major, 128, MIXED, 300, 2, 3", "head-major, 64, VERTICAL_SLASH, 100, 0, 6",
            "default head-major, 64, MIXED, 300, 0, 6", "default head-major, 128, SCATTERED, 330, 1, 4"})
    void theHopperKernelMatchesTheCpuReference(String variant, int headDim, String pattern, int length,
                                               int firstHead, int heads) {
        DrawnCase drawn = DrawnCase.fresh(headDim, pattern, firstHead, heads, length);
        HopperSparseFlashPrefill kernel = HopperSparseFlashPrefill.forHeadDim(headDim, hopperVariant(variant));
        drawn.assertMatchesReference(drawn.hopper(kernel), "emulated " + kernel.entryName() + ", " + pattern + " T="
                + length);
    }

    /** Paired query blocks compute each block's tiles in the single-block order: the same bits, on every pattern. */
    @ParameterizedTest(name = "{0}, {1} tokens")
    @CsvSource({"VERTICAL_SLASH, 520", "MIXED, 330", "BLOCK_SPARSE, 200"})
    void pairedBlocksGiveTheSingleBlockBits(String pattern, int length) {
        DrawnCase drawn = DrawnCase.fresh(64, pattern, 0, 6, length);
        HopperSparseFlashPrefill.Variant single = HopperSparseFlashPrefill.Variant.BASELINE;
        float[] alone = drawn.hopper(HopperSparseFlashPrefill.forHeadDim(64, single));
        float[] paired = drawn.hopper(HopperSparseFlashPrefill.forHeadDim(64, single.withPairs(true)));
        assertSameBits(alone, paired, drawn.shape(), "the single-block kernel's; " + pattern + ", seed "
                + drawn.seed());
    }

    /**
     * Query blocks 2p and 2p + 1 in a two-block cluster ({@link HopperSparseFlashPrefill.Variant#cluster}: range tiles
     * both take multicast, the others loaded by their block alone, a private tile of each block in one step where the
     * walk can tell both are private, else beside a placeholder in the other; column step j each block's own j-th
     * column tile) compute each block's tiles in the single-block order: the bits of the single-slot kernel with
     * whole-tile range copies and waited gathers, and within the CPU reference's bounds; odd query-block counts (the
     * last cluster's second block has no slot) and even ones, the longest-first list and the grid's order; the slash
     * runs (their bands' first and last tiles private) hold steps with a private tile in each block.
     */
    @ParameterizedTest(name = "{0}, {1} tokens, {2}")
    @CsvSource({"VERTICAL_SLASH, 520, longest-first", "MIXED, 330, longest-first", "BLOCK_SPARSE, 200, last-first",
            "SCATTERED, 390, last-first", "MIXED, 450, longest-first", "A_SHAPE, 150, longest-first",
            "SLASH_RUNS, 700, longest-first", "SLASH_RUNS, 640, last-first"})
    void clusteredBlocksGiveTheSingleBlockBits(String pattern, int length, String order) {
        DrawnCase drawn = DrawnCase.fresh(64, pattern, 0, 6, length);
        HopperSparseFlashPrefill.Variant single = HopperSparseFlashPrefill.Variant.BASELINE
                .withOrder(LaunchOrder.parse(order));
        float[] alone = drawn.hopper(HopperSparseFlashPrefill.forHeadDim(64, single));
        HopperSparseFlashPrefill kernel = HopperSparseFlashPrefill.forHeadDim(64, single.withCluster(true));
        float[] clustered = drawn.hopper(kernel);
        String context = pattern + " T=" + length + ", " + order + ", " + TestIndexes.describe(drawn.index()) + ", "
                + privatePairs(drawn.index()) + " steps with a private tile in each block, seed " + drawn.seed();
        if (pattern.equals("SLASH_RUNS")) assertTrue(privatePairs(drawn.index()) > 0, context);
        assertSameBits(alone, clustered, drawn.shape(), "the single-block kernel's; " + context);
        assertMatchesReference(drawn.problem(), drawn.index(), clustered, "emulated " + kernel.entryName() + ", "
                + context);
    }

    /** Range steps of the clusters in which each block loads a private tile of its own slot. */
    private static long privatePairs(SparseIndex index) {
        long pairs = 0;
        for (int h = 0; h < index.heads(); h++) {
            for (int b = 0; b < index.queryBlocks(); b += 2) {
                pairs += PairedTiles.clusterRangeSteps(index, h, b).stream()
                        .filter(step -> step.a() >= 0 && step.b() >= 0 && !step.shared()).count();
            }
        }
        return pairs;
    }

    /**
     * The clustered kernel's hand-overs between its blocks, each removed in turn, end in a deadlock the emulator
     * reports: without the remote release a producer waits for the peer's consumers forever, and a shared range tile
     * multicast into its issuer alone leaves the peer's full barrier short of its bytes (which also shows that the
     * test's index has tiles both slots of a pair take).
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"'@%laneZero(_\\d+)? mbarrier\\.arrive\\.shared::cluster\\.b64 _, \\[%peerAddress(_\\d+)?\\];', ''",
            "'mov\\.b16 %ctaMask, 3;', 'mov.b16 %ctaMask, 1;'"})
    void aMissingClusterHandOverIsReported(String handOver, String replacement) {
        Random random = new Random(5);
        AttentionShape shape = new AttentionShape(6, 2, 64);
        // more steps than stages in some pairs, so that a producer waits for a stage's release
        SparseIndex index = testIndex("VERTICAL_SLASH", random, 0, 6, 1000);
        Problem problem = Problem.random(shape, 1000, random);
        HopperSparseFlashPrefill kernel = HopperSparseFlashPrefill.forHeadDim(64, HopperSparseFlashPrefill.Variant
                .BASELINE.withOrder(LaunchOrder.LAST_FIRST).withCluster(true));
        String ptx = kernel.emit(PtxTarget.SM_90A).ptx();
        assertTrue(Pattern.compile(handOver).matcher(ptx).find(), handOver);
        var e = assertThrows(IllegalStateException.class, () -> runHopper(problem, index, kernel,
                ptx.replaceAll(handOver, replacement), random));
        assertTrue(e.getMessage().startsWith("deadlock"), e.getMessage());
    }

    /**
     * The producer whose warps arrive once each, and whose range tiles are warp 0's alone ({@link GatherArrival#WARP}),
     * gives the bits of the one whose threads all arrive: the same tiles in the same order, only the hand-over
     * differs, so a position left unwritten, a tile announced with the wrong count or a stage released early shows
     * as differing rows or a deadlock.
     */
    @ParameterizedTest(name = "{0}, {1} tokens, {2} keys a step, range boxes of {3}")
    @CsvSource({"VERTICAL_SLASH, 520, 64, 64", "MIXED, 330, 64, 64", "SCATTERED, 330, 64, 64", "MIXED, 330, 128, 64",
            "SCATTERED, 330, 64, 16", "VERTICAL_SLASH, 520, 64, 8"})
    void theWarpProducerGivesTheWaitingBits(String pattern, int length, int keysPerStep, int rangeBox) {
        DrawnCase drawn = DrawnCase.fresh(64, pattern, 0, 6, length);
        HopperSparseFlashPrefill.Variant waiting = HopperSparseFlashPrefill.Variant.BASELINE
                .withKeysPerStep(keysPerStep).withRangeBox(rangeBox);
        float[] expected = drawn.hopper(HopperSparseFlashPrefill.forHeadDim(64, waiting));
        float[] byWarps = drawn.hopper(HopperSparseFlashPrefill.forHeadDim(64, waiting.withGather(GatherArrival.WARP)
                .withSchedule(HopperFlashLoop.Schedule.parse("lazy,warp"))));
        assertSameBits(expected, byWarps, drawn.shape(), "the waiting producer's; " + pattern + ", seed "
                + drawn.seed());
    }

    /**
     * Persistent blocks ({@link HopperSparseFlashPrefill.Variant#persistent}: a grid of a few blocks, each taking
     * every grid-th unit of the (shuffled) list in turn, or one block taking them all, the ring's steps counted across
     * its units; units of one query block, or of a pair) give the bits of a block per query block: the same steps of
     * each slot in the same order; a stage or Q reused before its readers are done, or a phase waited on across units
     * by the wrong parity, shows as differing rows, a race or a deadlock.
     */
    @ParameterizedTest(name = "{0}, {1} tokens, {2}, {3} blocks, pairs {4}")
    @CsvSource({"VERTICAL_SLASH, 520, lazy, 7, false", "MIXED, 330, plain, 7, false", "SCATTERED, 330, lazy, 7, false",
            "A_SHAPE, 150, lazy, 7, false", "VERTICAL_SLASH, 330, lazy, 1, false", "VERTICAL_SLASH, 520, lazy, 5, true",
            "MIXED, 330, plain, 1, true", "VERTICAL_SLASH, 1, lazy, 7, false", "VERTICAL_SLASH, 1, lazy, 7, true",
            "VERTICAL_SLASH, 1, plain, 7, false", "VERTICAL_SLASH, 1, lazy, 264, false",
            "VERTICAL_SLASH, 1, lazy, 264, true"})
    void persistentBlocksGiveTheBlockPerUnitBits(String pattern, int length, String schedule, int grid,
                                                 boolean pairs) {
        DrawnCase drawn = DrawnCase.fresh(64, pattern, 0, 6, length);
        HopperSparseFlashPrefill.Variant single = HopperSparseFlashPrefill.Variant.BASELINE
                .withSchedule(HopperFlashLoop.Schedule.parse(schedule));
        long orderSeed = drawn.random().nextLong();
        float[] expected = drawn.hopper(HopperSparseFlashPrefill.forHeadDim(64, single), new Random(orderSeed));
        HopperSparseFlashPrefill kernel = HopperSparseFlashPrefill.forHeadDim(64, single.withPairs(pairs)
                .withPersistent(true));
        float[] persistent = runHopper(drawn.problem(), drawn.index(), kernel, kernel.emit(PtxTarget.SM_90A).ptx(),
                new Random(orderSeed), grid);
        assertSameBits(expected, persistent, drawn.shape(), "a block per unit's; " + pattern + ", seed "
                + drawn.seed());
    }

    /**
     * Values lagging a step behind the keys in the ring ({@link HopperFlashLoop.Schedule#lagValues}) change where a
     * step's V lies and when stages go back, not what is computed: the default's bits on every family, a slot of
     * one step (its V alone in the ring's extra position) and a head of column tiles only among them. A V copied
     * from the wrong box start or the wrong columns, or a stage given back while read, shows as differing rows, a race
     * or a deadlock.
     */
    @ParameterizedTest(name = "{0}, {1} tokens, d {2}")
    @CsvSource({"VERTICAL_SLASH, 520, 64", "MIXED, 330, 128", "SCATTERED, 330, 64", "A_SHAPE, 150, 64",
            "BLOCK_SPARSE, 260, 64", "SLASH_RUNS, 520, 64", "DENSE, 200, 64", "VERTICAL_SLASH, 1, 64"})
    void laggingValuesGiveTheDefaultBits(String pattern, int length, int headDim) {
        DrawnCase drawn = DrawnCase.fresh(headDim, pattern, 0, 6, length);
        long orderSeed = drawn.random().nextLong();
        HopperSparseFlashPrefill.Variant variant = HopperSparseFlashPrefill.Variant.DEFAULT;
        float[] expected = drawn.hopper(HopperSparseFlashPrefill.forHeadDim(headDim, variant), new Random(orderSeed));
        float[] lagging = drawn.hopper(HopperSparseFlashPrefill.forHeadDim(headDim, variant.withSchedule(
                HopperFlashLoop.Schedule.parse("overlap,lazy,lag"))), new Random(orderSeed));
        assertSameBits(expected, lagging, drawn.shape(), "the default's; " + pattern + ", seed " + drawn.seed());
    }

    /**
     * The L2 prefetch of range rows ({@link HopperSparseFlashPrefill.Variant#prefetchTiles}) changes no output bit,
     * and asks only for rows the index's ranges hold: every prefetched address is a whole K or V row (not a part, not
     * another head's columns) of a key inside one of the ranges of a slot of a head of that KV group, as many K rows
     * as V rows, and on the fixed families (slash runs, whole causal rows) some. A key computed past a range's end or
     * from the wrong cursor state shows as a row outside every range (or, past the prompt, as the emulator's
     * out-of-bounds error).
     */
    @ParameterizedTest(name = "{0}, {1} tokens, prefetch {2}")
    @CsvSource({"VERTICAL_SLASH, 520, 2", "MIXED, 330, 1", "SLASH_RUNS, 520, 2", "DENSE, 520, 4"})
    void theL2PrefetchAsksForRangeRowsOnly(String pattern, int length, int tiles) {
        DrawnCase drawn = DrawnCase.fresh(64, pattern, 0, 6, length);
        long orderSeed = drawn.random().nextLong();
        HopperSparseFlashPrefill.Variant plain = HopperSparseFlashPrefill.Variant.DEFAULT;
        float[] expected = drawn.hopper(HopperSparseFlashPrefill.forHeadDim(64, plain), new Random(orderSeed));
        float[] prefetching = drawn.hopper(HopperSparseFlashPrefill.forHeadDim(64,
                plain.withPrefetchTiles(tiles)), new Random(orderSeed));
        String context = pattern + ", seed " + drawn.seed();
        assertSameBits(expected, prefetching, drawn.shape(), "without the prefetch; " + context);
        List<Long> prefetched = lastHopper.l2Prefetches();
        long keys = lastHopperParams.get("kCache");
        long values = lastHopperParams.get("vCache");
        int rowBytes = 2 * drawn.shape().headDim();
        int kvRowBytes = drawn.shape().numKvHeads() * rowBytes;
        int group = drawn.shape().numHeads() / drawn.shape().numKvHeads();
        int[] perTensor = new int[2];
        for (long address : prefetched) {
            boolean isValue = address >= values && address < values + (long) length * kvRowBytes;
            long offset = address - (isValue ? values : keys);
            assertTrue(offset >= 0 && offset < (long) length * kvRowBytes && offset % rowBytes == 0,
                    () -> "a prefetch at 0x" + Long.toHexString(address) + " is not a K or V row; " + context);
            int key = (int) (offset / kvRowBytes);
            int kvHead = (int) (offset % kvRowBytes / rowBytes);
            boolean inRange = false;
            for (int h = kvHead * group; h < (kvHead + 1) * group && !inRange; h++) {
                for (int b = 0; b < drawn.index().queryBlocks() && !inRange; b++) {
                    inRange = drawn.index().insideRange(h - drawn.index().firstHead(), b, key);
                }
            }
            assertTrue(inRange, () -> "key " + key + " of KV head " + kvHead + " is in no range; " + context);
            perTensor[isValue ? 1 : 0]++;
        }
        // a K row and a V row for each key asked for; the drawn families may hold no range long enough to reach
        // N tiles ahead, the fixed ones (slash runs of two to three tiles, whole causal rows) always do
        assertEquals(perTensor[0], perTensor[1], () -> "K rows " + perTensor[0] + ", V rows " + perTensor[1] + "; "
                + context);
        if (pattern.equals("SLASH_RUNS") || pattern.equals("DENSE")) {
            assertTrue(perTensor[0] > 0, () -> "no row asked for; " + context);
        }
        System.out.printf("prefetch %d tiles ahead, %s T=%d: %d K and %d V rows asked for, all inside the ranges%n",
                tiles, pattern, length, perTensor[0], perTensor[1]);
    }

    /**
     * The emulator's cp.async check on the Hopper sparse kernel: without the producer's {@code cp.async.wait_all}
     * before it hands a gathered tile over, the consumers' wgmmas read columns that may not have landed, which the
     * emulator reports (its copies land at once, so the outputs alone would not show it).
     */
    @Test
    void aGatherHandedOverBeforeItLandsIsReported() {
        Random random = new Random(11);
        AttentionShape shape = new AttentionShape(6, 2, 64);
        SparseIndex index = testIndex("VERTICAL_SLASH", random, 0, 6, 300);
        Problem problem = Problem.random(shape, 300, random);
        HopperSparseFlashPrefill kernel = HopperSparseFlashPrefill.forHeadDim(64, HopperSparseFlashPrefill.Variant
                .BASELINE.withOrder(LaunchOrder.LAST_FIRST));
        String ptx = kernel.emit(PtxTarget.SM_90A).ptx();
        assertTrue(ptx.contains("cp.async.wait_all"));
        String unwaited = ptx.replace("cp.async.wait_all;", "");
        var e = assertThrows(IllegalStateException.class, () -> runHopper(problem, index, kernel, unwaited, random));
        assertTrue(e.getMessage().contains("has not waited for"), e.getMessage());
        System.out.println("gather without its wait: " + e.getMessage());
    }

    /**
     * A case drawn from a fresh seed, printed: random Q, K and V of 6 heads over 2 KV heads, and an index of the named
     * family over some of the heads ({@link #testIndex}), drawn in that order from one {@link Random}.
     */
    private record DrawnCase(long seed, Random random, AttentionShape shape, SparseIndex index, Problem problem) {
        static DrawnCase fresh(int headDim, String pattern, int firstHead, int heads, int length) {
            long seed = System.nanoTime();
            System.out.println("SparseFlashEmulationTest seed " + seed + ": " + pattern + ", " + length + " tokens");
            Random random = new Random(seed);
            AttentionShape shape = new AttentionShape(6, 2, headDim);
            SparseIndex index = testIndex(pattern, random, firstHead, heads, length);
            return new DrawnCase(seed, random, shape, index, Problem.random(shape, length, random));
        }

        /** Within the CPU reference's bounds ({@link SparseAttentionChecks}); {@code what} and the seed name it. */
        void assertMatchesReference(float[] output, String what) {
            SparseAttentionChecks.assertMatchesReference(problem, index, output, what + ", "
                    + TestIndexes.describe(index) + ", seed " + seed);
        }

        /** The Hopper kernel's output over this case ({@link #runHopper}), the launch order drawn from its random. */
        float[] hopper(HopperSparseFlashPrefill kernel) {
            return hopper(kernel, random);
        }

        /** As above, the launch order drawn from {@code order}. */
        float[] hopper(HopperSparseFlashPrefill kernel, Random order) {
            return runHopper(problem, index, kernel, order);
        }
    }

    private static SparseIndex testIndex(String pattern, Random random, int firstHead, int heads, int length) {
        return switch (pattern) {
            case "VERTICAL_SLASH" -> TestIndexes.verticalSlash(random, firstHead, heads, length, 12, 24);
            case "A_SHAPE" -> TestIndexes.aShape(firstHead, heads, length, 20, 70);
            case "BLOCK_SPARSE" -> TestIndexes.blockSparse(random, firstHead, heads, length, 0.3);
            case "SCATTERED" -> TestIndexes.scattered(random, firstHead, heads, length);
            case "SLASH_RUNS" -> TestIndexes.slashRuns(firstHead, heads, length);
            case "DENSE" -> TestIndexes.dense(firstHead, heads, length);
            default -> TestIndexes.mixed(random, firstHead, heads, length);
        };
    }

    private static HopperSparseFlashPrefill.Variant hopperVariant(String name) {
        HopperSparseFlashPrefill.Variant base = HopperSparseFlashPrefill.Variant.BASELINE;
        return switch (name) {
            case "longest-first" -> base;
            case "plain" -> base.withSchedule(HopperFlashLoop.Schedule.PLAIN);
            case "last-first" -> base.withOrder(LaunchOrder.LAST_FIRST);
            case "head-major" -> base.withOrder(LaunchOrder.HEAD_MAJOR);
            case "default head-major" -> HopperSparseFlashPrefill.Variant.DEFAULT.withOrder(LaunchOrder.HEAD_MAJOR);
            case "pairs" -> base.withPairs(true);
            case "pairs last-first" -> base.withPairs(true).withOrder(LaunchOrder.LAST_FIRST);
            case "cluster" -> base.withCluster(true);
            case "cluster last-first" -> base.withCluster(true).withOrder(LaunchOrder.LAST_FIRST);
            case "async gather" -> base.withGather(GatherArrival.ASYNC);
            case "warp" -> base.withGather(GatherArrival.WARP).withSchedule(HopperFlashLoop.Schedule.parse("warp"));
            case "128 keys a step" -> base.withKeysPerStep(128);
            case "default prefetch 2" -> HopperSparseFlashPrefill.Variant.DEFAULT.withPrefetchTiles(2);
            case "prefetch 1" -> base.withPrefetchTiles(1);
            case "128 keys prefetch 3" -> base.withKeysPerStep(128).withPrefetchTiles(3);
            case "overlap lazy" -> base.withSchedule(HopperFlashLoop.Schedule.parse("overlap,lazy"));
            case "persistent async" -> base.withPersistent(true).withGather(GatherArrival.ASYNC);
            case "range boxes of 32" -> base.withRangeBox(32);
            case "range boxes of 16" -> base.withRangeBox(16);
            case "range boxes of 8" -> base.withRangeBox(8);
            case "range boxes of 8 warp" -> base.withRangeBox(8).withGather(GatherArrival.WARP)
                    .withSchedule(HopperFlashLoop.Schedule.parse("lazy,warp"));
            case "range boxes of 16 128 keys" -> base.withRangeBox(16).withKeysPerStep(128);
            case "range boxes of 16 persistent" -> base.withRangeBox(16).withPersistent(true);
            case "range boxes of 16 async" -> base.withRangeBox(16).withGather(GatherArrival.ASYNC);
            case "default" -> HopperSparseFlashPrefill.Variant.DEFAULT;
            case "default lag" -> HopperSparseFlashPrefill.Variant.DEFAULT.withSchedule(
                    HopperFlashLoop.Schedule.parse("overlap,lazy,lag"));
            case "lag waited gathers" -> base.withSchedule(HopperFlashLoop.Schedule.parse("overlap,lag"));
            case "lag range boxes of 8" -> base.withRangeBox(8).withSchedule(
                    HopperFlashLoop.Schedule.parse("overlap,lazy,lag"));
            case "lag range boxes of 32 async" -> base.withRangeBox(32).withGather(GatherArrival.ASYNC)
                    .withSchedule(HopperFlashLoop.Schedule.parse("overlap,lag"));
            // what SparseAttentionBenchmark's gather sweep runs on the default
            case "default warp gather" -> HopperSparseFlashPrefill.Variant.DEFAULT.withGather(GatherArrival.WARP);
            // persistent blocks do not overlap and walk the sorted list: the default's boxes and gathers on the
            // lazy schedule, longest first
            case "default persistent" -> HopperSparseFlashPrefill.Variant.DEFAULT.withSchedule(
                    HopperFlashLoop.Schedule.parse("lazy")).withOrder(LaunchOrder.LONGEST_FIRST).withPersistent(true);
            default -> throw new IllegalArgumentException(name);
        };
    }

    /**
     * Runs the Hopper kernel over the index as {@link SparseFlashAttention} launches it ({@link #hopperInputs}, a
     * block per query block of a head or per pair of them); the output as floats.
     */
    private static float[] runHopper(Problem problem, SparseIndex index, HopperSparseFlashPrefill kernel,
                                     Random random) {
        return runHopper(problem, index, kernel, kernel.emit(PtxTarget.SM_90A).ptx(), random);
    }

    /** As above, with the kernel's PTX given. */
    private static float[] runHopper(Problem problem, SparseIndex index, HopperSparseFlashPrefill kernel, String ptx,
                                     Random random) {
        return runHopper(problem, index, kernel, ptx, random, PERSISTENT_GRID);
    }

    /** As above; a persistent kernel on a grid of {@code persistentGrid} blocks (or one per unit, if fewer). */
    private static float[] runHopper(Problem problem, SparseIndex index, HopperSparseFlashPrefill kernel, String ptx,
                                     Random random, int persistentGrid) {
        WarpEmulator gpu = new WarpEmulator(ptx);
        lastHopper = gpu;
        // the producer warps run ahead as far as the barriers let them, so that a stage (or a persistent unit's Q)
        // filled before its readers are done with it would be read by them
        gpu.runAhead(Set.of(0, 1, 2, 3));
        Map<String, Long> params = hopperInputs(gpu, problem, index, kernel, random);
        lastHopperParams = params;
        assertEquals(new HashSet<>(gpu.params()), params.keySet(), "the kernel's parameters");
        int perHead = blocksPerHead(index, kernel);
        if (kernel.variant().persistent()) {
            // a grid smaller than the units, so that every block takes several in turn, some more than others
            int units = index.heads() * perHead;
            int grid = Math.min(units, persistentGrid);
            for (int block = 0; block < grid; block++) {
                gpu.runBlock(params, new WarpEmulator.Grid(block, 0, grid, 1), kernel.threads(), kernel.sharedBytes());
            }
            return output(gpu, params, problem);
        }
        if (kernel.variant().cluster()) {
            // a cluster of two blocks per unit, grid y neighbours 2c and 2c + 1, run together
            int gridY = kernel.gridBlocksPerHead(perHead);
            for (int slot = 0; slot < index.heads(); slot++) {
                for (int y = 0; y < gridY; y += 2) {
                    gpu.runCluster(params, List.of(new WarpEmulator.Grid(slot, y, index.heads(), gridY),
                            new WarpEmulator.Grid(slot, y + 1, index.heads(), gridY)), kernel.threads(),
                            kernel.sharedBytes());
                }
            }
            return output(gpu, params, problem);
        }
        boolean headMajor = kernel.variant().order() == LaunchOrder.HEAD_MAJOR;
        for (int slot = 0; slot < index.heads(); slot++) {
            for (int block = 0; block < perHead; block++) {
                WarpEmulator.Grid grid = headMajor ? new WarpEmulator.Grid(block, slot, perHead, index.heads())
                        : new WarpEmulator.Grid(slot, block, index.heads(), perHead);
                gpu.runBlock(params, grid, kernel.threads(), kernel.sharedBytes());
            }
        }
        return output(gpu, params, problem);
    }

    /** The emulator of the last {@link #runHopper}, for measurements. */
    private static WarpEmulator lastHopper;
    /** The parameters of the last {@link #runHopper}. */
    private static Map<String, Long> lastHopperParams;

    /**
     * What the walk that counts a cluster's range steps before the roles split costs ({@code
     * IndexKeySource.clusterRangeSteps}): the instructions all warps of a block issue in it, against all they issue,
     * per block, on the clustered test cases' indexes. Not a check: it runs with {@code
     * -Dminference.issue.measure=true} and prints its lines.
     */
    @ParameterizedTest(name = "{0}, {1} tokens")
    @CsvSource({"VERTICAL_SLASH, 520", "SCATTERED, 390", "SLASH_RUNS, 700", "MIXED, 450"})
    void clusterCountingWalkIssue(String pattern, int length) {
        assumeTrue(Boolean.getBoolean("minference.issue.measure"), "a measurement: -Dminference.issue.measure=true");
        Random random = new Random(1);
        SparseIndex index = testIndex(pattern, random, 0, 6, length);
        Problem problem = Problem.random(new AttentionShape(6, 2, 64), length, random);
        HopperSparseFlashPrefill kernel = HopperSparseFlashPrefill.forHeadDim(64, HopperSparseFlashPrefill.Variant
                .BASELINE.withCluster(true));
        String ptx = kernel.emit(PtxTarget.SM_90A).ptx();
        Matcher loop = Pattern.compile("(L_while_\\d+):")
                .matcher(ptx.substring(ptx.indexOf("the cluster's range steps")));
        assertTrue(loop.find(), "the counting walk's loop");
        String head = loop.group(1);
        runHopper(problem, index, kernel, ptx, random);
        long walk = lastHopper.issuedBetween(head, head.replace("while", "endwhile"));
        long all = lastHopper.issued().values().stream().flatMap(m -> m.values().stream()).mapToLong(x -> x).sum();
        long blocks = (long) index.heads() * kernel.gridBlocksPerHead(blocksPerHead(index, kernel));
        long turns = 0, steps = 0;
        for (int h = 0; h < index.heads(); h++) {
            for (int b = 0; b < index.queryBlocks(); b += 2) {
                turns += PairedTiles.clusterWalk(index, h, b).turns();
                steps += PairedTiles.clusterSteps(index, h, b);
            }
        }
        System.out.printf("%s T=%d: counting walk %.0f warp instructions a block of %.0f (%.1f %%), %.1f turns and"
                + " %.1f steps a cluster, %.1f warp instructions a turn%n", pattern, length, (double) walk / blocks,
                (double) all / blocks, 100.0 * walk / all, 2.0 * turns / blocks, 2.0 * steps / blocks,
                (double) walk / (2.0 * turns * kernel.threads() / 32));
    }

    /** The emulated persistent grid: fewer blocks than units, and not a divisor of the test cases' unit counts. */
    private static final int PERSISTENT_GRID = 7;

    /**
     * The Hopper kernel's parameters as {@link SparseFlashAttention} passes them: Q, K and V as tensor maps of the
     * prompt (K and V by pointer too, for the gather), the packed index, and with the longest-first order a shuffled
     * list of the blocks' units (any permutation is a valid order).
     */
    static Map<String, Long> hopperInputs(WarpEmulator gpu, Problem problem, SparseIndex index,
                                          HopperSparseFlashPrefill kernel, Random random) {
        AttentionShape shape = problem.shape();
        int d = shape.headDim();
        Map<String, Long> params = inputs(gpu, problem);
        params.put("kCache", params.get("k"));
        params.put("vCache", params.get("v"));
        params.put("q", gpu.tensorMap(params.get("q"), TensorMap.Shape.headRows(problem.length(), shape.numHeads(), d,
                kernel.queryRows())));
        if (kernel.wholeTileMaps()) {
            TensorMap.Shape tiles = TensorMap.Shape.headRows(problem.length(), shape.numKvHeads(), d, SparseIndex.BLOCK);
            params.put("kTile", gpu.tensorMap(params.get("kCache"), tiles));
            params.put("vTile", gpu.tensorMap(params.get("vCache"), tiles));
        }
        params.put("k", gpu.tensorMap(params.get("k"), TensorMap.Shape.headRows(problem.length(),
                shape.numKvHeads(), d, kernel.keyBoxRows())));
        params.put("v", gpu.tensorMap(params.get("v"), TensorMap.Shape.headRows(problem.length(),
                shape.numKvHeads(), d, kernel.keyBoxRows())));
        params.putAll(EmulatedIndexes.upload(gpu, DeviceSparseIndex.Packed.of(index)));
        params.put("length", (long) problem.length());
        params.put("firstHead", (long) index.firstHead());
        if (kernel.variant().order() == LaunchOrder.LONGEST_FIRST) {
            List<Integer> units = new ArrayList<>();
            for (int u = 0; u < index.heads() * blocksPerHead(index, kernel); u++) units.add(u);
            Collections.shuffle(units, random);
            params.put("order", gpu.upload(WarpEmulator.u32Bytes(units.stream().mapToInt(Integer::intValue)
                    .toArray())));
        }
        if (kernel.variant().persistent()) {
            params.put("units", (long) index.heads() * blocksPerHead(index, kernel));
            params.put("blocksPerHead", (long) blocksPerHead(index, kernel));
        }
        return params;
    }

    /** Units per head: a query block of a head, or a pair of them (a block, or a cluster of two, each). */
    static int blocksPerHead(SparseIndex index, HopperSparseFlashPrefill kernel) {
        int perUnit = HopperSparseFlashPrefill.queryBlocksPerUnit(kernel.variant());
        return (index.queryBlocks() + perUnit - 1) / perUnit;
    }

    private static float[] runSparse(Problem problem, SparseIndex index) {
        AttentionShape shape = problem.shape();
        SparseFlashPrefill kernel = SparseFlashPrefill.forHeadDim(shape.headDim());
        WarpEmulator gpu = new WarpEmulator(kernel.emit(PtxTarget.SM_80).ptx());
        Map<String, Long> params = inputs(gpu, problem);
        DeviceSparseIndex.Packed packed = DeviceSparseIndex.Packed.of(index);
        params.putAll(EmulatedIndexes.upload(gpu, packed));
        params.put("length", (long) problem.length());
        params.put("firstHead", (long) index.firstHead());
        assertEquals(new HashSet<>(gpu.params()), params.keySet(), "the kernel's parameters");
        for (int slot = 0; slot < index.heads(); slot++) {
            for (int block = 0; block < index.queryBlocks(); block++) {
                gpu.runBlock(params, slot, block, index.queryBlocks(), SparseFlashPrefill.THREADS,
                        kernel.sharedBytes());
            }
        }
        return output(gpu, params, problem);
    }

    private static float[] runDense(Problem problem) {
        AttentionShape shape = problem.shape();
        FlashPrefill kernel = FlashPrefill.forHeadDim(shape.headDim());
        WarpEmulator gpu = new WarpEmulator(kernel.emit(PtxTarget.SM_80).ptx());
        Map<String, Long> params = inputs(gpu, problem);
        params.put("count", (long) problem.length());
        params.put("start", 0L);
        assertEquals(new HashSet<>(gpu.params()), params.keySet(), "the kernel's parameters");
        int blocks = kernel.queryBlocks(problem.length());
        for (int head = 0; head < shape.numHeads(); head++) {
            for (int block = 0; block < blocks; block++) {
                gpu.runBlock(params, head, block, blocks, kernel.threads(), kernel.sharedBytes());
            }
        }
        return output(gpu, params, problem);
    }

    /** Q, K and V (bf16; the cache rows past the prompt NaN), the output poisoned, and the shape's parameters. */
    private static Map<String, Long> inputs(WarpEmulator gpu, Problem problem) {
        AttentionShape shape = problem.shape();
        Map<String, Long> params = new HashMap<>();
        params.put("q", gpu.upload(WarpEmulator.bf16Bytes(problem.q())));
        float[] spare = new float[Problem.SPARE_ROWS * shape.kvDim()];
        Arrays.fill(spare, Float.NaN);
        params.put("k", gpu.upload(WarpEmulator.bf16Bytes(concat(problem.k(), spare))));
        params.put("v", gpu.upload(WarpEmulator.bf16Bytes(concat(problem.v(), spare))));
        byte[] out = new byte[2 * problem.length() * shape.queryDim()];
        Arrays.fill(out, (byte) 0xFF);
        params.put("o", gpu.upload(out));
        params.put("numHeads", (long) shape.numHeads());
        params.put("numKvHeads", (long) shape.numKvHeads());
        params.put("scale", (long) Float.floatToRawIntBits(FlashAttention.log2Scale(shape.headDim())));
        return params;
    }

    /** The output as floats, the poisoned (unwritten) elements NaN. */
    private static float[] output(WarpEmulator gpu, Map<String, Long> params, Problem problem) {
        ByteBuffer o = ByteBuffer.wrap(gpu.bytes(params.get("o"))).order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[problem.length() * problem.shape().queryDim()];
        for (int i = 0; i < values.length; i++) {
            short bits = o.getShort(2 * i);
            values[i] = bits == POISON ? Float.NaN : BFloat16.toFloat(bits);
        }
        return values;
    }

    private static float[] concat(float[] a, float[] b) {
        float[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
