package io.minference.kernels.flash;

import io.minference.kernels.WarpEmulator;
import io.minference.kernels.attention.AttentionShape;
import io.minference.ptx.PtxTarget;
import io.minference.runtime.cuda.BFloat16;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The tensor-core causal prefill ({@link FlashPrefill}, the mma.sync kernel for sm_80 to sm_89, whose key loop
 * {@link FlashKeyLoop} the sparse kernel shares), its PTX run by {@link WarpEmulator} without a GPU: every CTA of
 * the grid (every head, every query block, the last one partial), through the cp.async pipeline, ldmatrix, mma and the
 * online softmax, against float64 attention, row by row. Grouped-query heads, a prompt from position 0 and a chunk
 * that continues one (its queries start mid-tile); random bf16 inputs (seed printed), output poisoned with NaN.
 */
class FlashPrefillEmulationTest {
    /** Per query row and head: bf16 output and P rounded to bf16 for P V, about 2^-8 relative, with room. */
    private static final double ROW_TOLERANCE = 1e-2;

    @ParameterizedTest(name = "d {0}, {1} x {2} tiles, {3} stages, {4} queries from {5}")
    @CsvSource({"64, 64, 64, 2, 150, 0", "64, 64, 64, 2, 70, 100", "128, 128, 64, 3, 150, 0"})
    void everyRowMatchesFloat64Attention(int headDim, int blockM, int blockN, int stages, int count, int start) {
        long seed = System.nanoTime();
        System.out.println("FlashPrefillEmulationTest seed " + seed);
        AttentionShape shape = new AttentionShape(4, 2, headDim);
        AttentionProblem problem = AttentionProblem.random(shape, count, start, seed);
        FlashPrefill kernel = new FlashPrefill(headDim, blockM, blockN, stages);
        byte[] out = runMmaSync(kernel, kernel.emit(PtxTarget.SM_80).ptx(), problem);
        assertRowsMatch(kernel.entryName(), problem, out, seed);
    }

    /**
     * The emulator's cp.async check, on the mma.sync kernel's PTX with its {@code cp.async.wait_group}s removed: the
     * key loop then reads stages whose copies were never waited for, which it reports instead of passing (its copies
     * land at once, so the output alone would not show it).
     */
    @Test
    void aCopyReadBeforeItsWaitIsReported() {
        AttentionShape shape = new AttentionShape(4, 2, 64);
        AttentionProblem problem = AttentionProblem.random(shape, 150, 0, 7);
        FlashPrefill kernel = new FlashPrefill(64, 64, 64, 2);
        String ptx = kernel.emit(PtxTarget.SM_80).ptx();
        assertTrue(ptx.contains("cp.async.wait_group"));
        String unwaited = ptx.replaceAll("(?m)^.*cp\\.async\\.wait_group.*$", "");
        var e = assertThrows(IllegalStateException.class, () -> runMmaSync(kernel, unwaited, problem));
        assertTrue(e.getMessage().contains("has not waited for"), e.getMessage());
        System.out.println("no cp.async wait: " + e.getMessage());
    }

    /** Every block of the mma.sync {@code kernel}'s launch over {@code problem}, its PTX given; the output's bytes. */
    private static byte[] runMmaSync(FlashPrefill kernel, String ptx, AttentionProblem problem) {
        WarpEmulator gpu = new WarpEmulator(ptx);
        Map<String, Long> params = EmulatedPrefillInputs.mmaSync(gpu, problem);
        assertEquals(params.keySet(), new HashSet<>(gpu.params()), "the kernel's parameters");
        int queryBlocks = kernel.queryBlocks(problem.count());
        for (int head = 0; head < problem.shape().numHeads(); head++) {
            for (int block = 0; block < queryBlocks; block++) {
                gpu.runBlock(params, head, block, queryBlocks, kernel.threads(), kernel.sharedBytes());
            }
        }
        return gpu.bytes(params.get("o"));
    }

    /**
     * The Hopper kernel ({@link HopperFlashPrefill}: a producer warpgroup loading K and V tiles by TMA into a ring of
     * stages under mbarriers, one consumer warpgroup on wgmma per 64 query rows), run by the emulator's Hopper
     * instructions, with 128-row blocks (what the runtime launches) and 64-row ones (the sparse kernel's geometry).
     * The same problems and bounds as above; the emulator's wgmma reads its operands through the descriptors as the
     * hardware does, so a wrong swizzle, descriptor offset or stage hand-over fails here.
     */
    @ParameterizedTest(name = "d {0}, {1} x {2} steps, {3} stages, {4}, {5} queries from {6}")
    @CsvSource({"64, 128, 64, 3, plain, 150, 0", "128, 128, 128, 2, plain, 150, 0", "128, 128, 128, 2, plain, 70, 100",
            "128, 128, 64, 3, overlap, 200, 0", "64, 128, 128, 2, lazy, 130, 60", "128, 64, 64, 3, plain, 200, 0",
            "64, 64, 64, 3, lazy, 130, 60", "128, 128, 128, 3, 'overlap,lazy', 300, 0",
            "128, 128, 128, 3, 'overlap,lazy,lag', 300, 0", "128, 128, 128, 2, 'overlap,lag', 130, 60",
            "64, 128, 64, 3, 'pingpong,overlap,lazy,lag', 200, 0", "128, 64, 64, 3, 'overlap,lazy,lag', 40, 0"})
    void theHopperKernelMatchesFloat64Attention(int headDim, int blockM, int blockN, int stages, String schedule,
                                                int count, int start) {
        long seed = System.nanoTime();
        System.out.println("FlashPrefillEmulationTest (Hopper) seed " + seed);
        AttentionShape shape = new AttentionShape(4, 2, headDim);
        AttentionProblem problem = AttentionProblem.random(shape, count, start, seed);
        HopperFlashPrefill kernel = new HopperFlashPrefill(headDim, blockM, blockN, stages,
                HopperFlashLoop.Schedule.parse(schedule));
        byte[] out = runHopper(kernel, kernel.emit(PtxTarget.SM_90A).ptx(), problem);
        assertRowsMatch(kernel.entryName(), problem, out, seed);
    }

    /**
     * The emulator's race checks, on the Hopper kernel's PTX with one fault planted: a consumer that releases its
     * stage before waiting for the wgmmas reading it (the producer's next copy then writes bytes a wgmma may still be
     * reading), one that never waits (its softmax then reads S while the wgmma writing it may still run), and
     * consumers that never wait on their barriers (they read Q and the K/V stages before the TMA phase that delivers
     * them). The unchanged kernel passes the same run (above); each planted fault is reported instead of passing.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"release before wait, wgmmas still reading", "no wait, race: reads",
            "consumers skip their barrier waits, has waited for that phase"})
    void aRaceInTheHopperPipelineIsReported(String fault, String reported) {
        AttentionShape shape = new AttentionShape(4, 2, 128);
        AttentionProblem problem = AttentionProblem.random(shape, 300, 0, 7);
        HopperFlashPrefill kernel = new HopperFlashPrefill(128, 128, 2);
        String emitted = kernel.emit(PtxTarget.SM_90A).ptx();
        if (fault.startsWith("consumers")) {
            // after the consumers' setmaxnreg, every mbarrier wait succeeds at once: Q and K/V read as they lie
            int consumers = emitted.indexOf("setmaxnreg.inc");
            String skipping = emitted.substring(0, consumers) + emitted.substring(consumers).replaceAll(
                    "mbarrier\\.try_wait\\.parity\\.shared::cta\\.b64 (%\\w+), \\[[^]]+\\], [^;]+;", "mov.pred $1, 1;");
            var e = assertThrows(IllegalStateException.class, () -> runHopper(kernel, skipping, problem, false));
            assertTrue(e.getMessage().contains("race") && e.getMessage().contains(reported), e.getMessage());
            System.out.println(fault + ": " + e.getMessage());
            return;
        }
        List<String> lines = new ArrayList<>(List.of(emitted.split("\n")));
        int wait = -1;
        for (int i = 0; i < lines.size() && wait < 0; i++) {
            if (lines.get(i).contains("wgmma.wait_group.sync.aligned 0;")
                    && String.join("\n", lines.subList(i, Math.min(i + 12, lines.size())))
                    .contains("mbarrier.arrive.shared::cta.b64")) {
                wait = i;
            }
        }
        assertTrue(wait >= 0, "a step's wait followed by its stage's release");
        String waitLine = lines.remove(wait);
        if (fault.startsWith("release")) {
            int release = wait;
            while (!lines.get(release).contains("mbarrier.arrive.shared::cta.b64")) release++;
            lines.add(release + 1, waitLine);
        }
        String ptx = String.join("\n", lines);
        var e = assertThrows(IllegalStateException.class, () -> runHopper(kernel, ptx, problem, false));
        assertTrue(e.getMessage().contains("race") && e.getMessage().contains(reported), e.getMessage());
        System.out.println(fault + ": " + e.getMessage());
    }

    /**
     * The persistent Hopper kernel (a grid of {@code grid} blocks, each taking (head, query block) units in turn, the
     * longest rows first, the ring's steps counted across its units; the producer warps running as far ahead as the
     * barriers allow) gives the bits of a block per unit.
     */
    @ParameterizedTest(name = "d {0}, {1} x {2} steps, {3} stages, {4}, {5} queries from {6}, {7} blocks")
    @CsvSource({"128, 128, 128, 2, plain, 300, 0, 3", "64, 64, 64, 3, lazy, 200, 40, 5",
            "128, 128, 64, 3, lazy, 150, 0, 1"})
    void thePersistentHopperKernelGivesTheBlockPerUnitBits(int headDim, int blockM, int blockN, int stages,
                                                           String schedule, int count, int start, int grid) {
        long seed = System.nanoTime();
        System.out.println("FlashPrefillEmulationTest (persistent Hopper) seed " + seed);
        AttentionShape shape = new AttentionShape(4, 2, headDim);
        AttentionProblem problem = AttentionProblem.random(shape, count, start, seed);
        HopperFlashLoop.Schedule parsed = HopperFlashLoop.Schedule.parse(schedule);
        HopperFlashPrefill single = new HopperFlashPrefill(headDim, blockM, blockN, stages, parsed);
        HopperFlashPrefill persistent = new HopperFlashPrefill(headDim, blockM, blockN, stages, parsed, true);
        byte[] expected = runHopper(single, single.emit(PtxTarget.SM_90A).ptx(), problem);
        byte[] actual = runHopperPersistent(persistent, problem, grid);
        assertEquals(HexFormat.of().formatHex(expected), HexFormat.of().formatHex(actual),
                persistent.entryName() + " against a block per unit, seed " + seed);
    }

    /**
     * The emulator counts registers as the GPU does: the two-consumer persistent kernel whose consumers ask
     * setmaxnreg.inc for 8 registers a thread more than the producer gave back (what hung on the GPU in session 19,
     * when they asked for 232 where the block held 224) ends in a deadlock the emulator reports at the request.
     */
    @Test
    void aRegisterRequestTheBlockCannotMeetIsReported() {
        AttentionProblem problem = AttentionProblem.random(new AttentionShape(2, 1, 128), 300, 0, 7);
        HopperFlashPrefill kernel = new HopperFlashPrefill(128, 128, 128, 2, HopperFlashLoop.Schedule.parse("plain"),
                true);
        String ptx = kernel.emit(PtxTarget.SM_90A).ptx();
        Matcher request = Pattern.compile("setmaxnreg\\.inc\\.sync\\.aligned\\.u32 (\\d+);").matcher(ptx);
        assertTrue(request.find(), "the consumers' setmaxnreg.inc");
        int asked = Integer.parseInt(request.group(1));
        String greedy = ptx.replace(request.group(), "setmaxnreg.inc.sync.aligned.u32 " + (asked + 8) + ";");
        WarpEmulator gpu = new WarpEmulator(greedy);
        Map<String, Long> params = EmulatedPrefillInputs.hopper(gpu, kernel, problem);
        params.put("heads", (long) problem.shape().numHeads());
        var e = assertThrows(IllegalStateException.class, () -> gpu.runBlock(params,
                new WarpEmulator.Grid(0, 0, 1, 1), kernel.threads(), kernel.sharedBytes()));
        assertTrue(e.getMessage().startsWith("deadlock") && e.getMessage().contains("at setmaxnreg.inc"),
                e.getMessage());
        System.out.println(asked + 8 + " registers asked: " + e.getMessage().lines().limit(3).toList());
    }

    /**
     * The 64-row kernel with neighbouring query blocks paired in two-block clusters sharing their key tiles by
     * multicast TMA ({@link HopperFlashPrefill#cluster}), each cluster's CTAs run interleaved, the producers as far
     * ahead as the barriers allow: within the bounds of the float64 attention and bit for bit the unpaired kernel's,
     * with odd query-block counts (the last pair's second block has no rows) and even ones, 64- and 128-key steps.
     */
    @ParameterizedTest(name = "d {0}, 64 x {1} steps, {2} stages, {3}, {4} queries from {5}")
    @CsvSource({"64, 64, 3, lazy, 200, 0", "64, 64, 3, lazy, 130, 60", "128, 64, 2, plain, 256, 0",
            "64, 128, 2, lazy, 150, 30", "64, 64, 3, 'lazy,warp', 1, 0"})
    void theClusterKernelGivesTheUnpairedBits(int headDim, int blockN, int stages, String schedule, int count,
                                              int start) {
        long seed = System.nanoTime();
        System.out.println("FlashPrefillEmulationTest (cluster Hopper) seed " + seed);
        AttentionShape shape = new AttentionShape(4, 2, headDim);
        AttentionProblem problem = AttentionProblem.random(shape, count, start, seed);
        HopperFlashLoop.Schedule parsed = HopperFlashLoop.Schedule.parse(schedule);
        HopperFlashPrefill single = new HopperFlashPrefill(headDim, 64, blockN, stages, parsed);
        HopperFlashPrefill paired = new HopperFlashPrefill(headDim, 64, blockN, stages, parsed, false, true);
        byte[] actual = runHopperClusters(paired, problem);
        assertRowsMatch(paired.entryName(), problem, actual, seed);
        byte[] expected = runHopper(single, single.emit(PtxTarget.SM_90A).ptx(), problem);
        assertEquals(HexFormat.of().formatHex(expected), HexFormat.of().formatHex(actual),
                paired.entryName() + " against the unpaired kernel, seed " + seed);
    }

    /**
     * The cluster kernel's hand-overs between its CTAs, each removed in turn, end in a deadlock the emulator reports:
     * without the remote release the producers wait for the peer's consumers forever, and with a multicast into one
     * CTA only the other's full barrier misses its bytes.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"'@%laneZero mbarrier.arrive.shared::cluster.b64 _, [%peerAddress];', ''",
            "'mov.b16 %ctaMask, 3;', 'mov.b16 %ctaMask, 1;'"})
    void aMissingClusterHandOverIsReported(String handOver, String replacement) {
        // 400 queries: 7 query blocks, a grid of 8; y 2 and 3 are pair 2, blocks 4 and 5 (5 and 6 key steps)
        AttentionProblem problem = AttentionProblem.random(new AttentionShape(2, 1, 64), 400, 0, 5);
        HopperFlashPrefill kernel = new HopperFlashPrefill(64, 64, 64, 3, HopperFlashLoop.Schedule.parse("lazy"),
                false, true);
        String ptx = kernel.emit(PtxTarget.SM_90A).ptx();
        assertTrue(ptx.contains(handOver), ptx);
        WarpEmulator gpu = new WarpEmulator(ptx.replace(handOver, replacement));
        Map<String, Long> params = EmulatedPrefillInputs.hopper(gpu, kernel, problem);
        var e = assertThrows(IllegalStateException.class, () -> gpu.runCluster(params, List.of(
                new WarpEmulator.Grid(0, 2, 2, 8), new WarpEmulator.Grid(0, 3, 2, 8)), kernel.threads(),
                kernel.sharedBytes()));
        assertTrue(e.getMessage().startsWith("deadlock") && e.getMessage().contains("CTA 1 warp"), e.getMessage());
    }

    /** {@code kernel} (in clusters of two) over {@code problem}, a cluster at a time; the output's bytes. */
    private static byte[] runHopperClusters(HopperFlashPrefill kernel, AttentionProblem problem) {
        WarpEmulator gpu = new WarpEmulator(kernel.emit(PtxTarget.SM_90A).ptx());
        gpu.runAhead(Set.of(0, 1, 2, 3));
        Map<String, Long> params = EmulatedPrefillInputs.hopper(gpu, kernel, problem);
        assertEquals(params.keySet(), new HashSet<>(gpu.params()), "the kernel's parameters");
        int heads = problem.shape().numHeads();
        int gridY = kernel.gridBlocks(problem.count());
        for (int head = 0; head < heads; head++) {
            for (int y = 0; y < gridY; y += 2) {
                gpu.runCluster(params, List.of(new WarpEmulator.Grid(head, y, heads, gridY),
                        new WarpEmulator.Grid(head, y + 1, heads, gridY)), kernel.threads(), kernel.sharedBytes());
            }
        }
        return gpu.bytes(params.get("o"));
    }

    /** {@code kernel} (persistent) over {@code problem} on a grid of {@code grid} blocks; the output's bytes. */
    private static byte[] runHopperPersistent(HopperFlashPrefill kernel, AttentionProblem problem, int grid) {
        WarpEmulator gpu = new WarpEmulator(kernel.emit(PtxTarget.SM_90A).ptx());
        gpu.runAhead(Set.of(0, 1, 2, 3));
        Map<String, Long> params = EmulatedPrefillInputs.hopper(gpu, kernel, problem);
        params.put("heads", (long) problem.shape().numHeads());
        assertEquals(params.keySet(), new HashSet<>(gpu.params()), "the kernel's parameters");
        int blocks = Math.min(grid, problem.shape().numHeads() * kernel.queryBlocks(problem.count()));
        for (int block = 0; block < blocks; block++) {
            gpu.runBlock(params, new WarpEmulator.Grid(block, 0, blocks, 1), kernel.threads(), kernel.sharedBytes());
        }
        return gpu.bytes(params.get("o"));
    }

    /** Every block of {@code kernel}'s launch over {@code problem}, its PTX given; the output's bytes. */
    private static byte[] runHopper(HopperFlashPrefill kernel, String ptx, AttentionProblem problem) {
        return runHopper(kernel, ptx, problem, true);
    }

    /**
     * As above; with {@code producerAhead}, the producer warps run as far ahead as their barriers let them (a stage
     * refilled before its readers are done with it is then read by them), else the warps take turns at every
     * arrival (the planted faults' runs, so that each is reported by the check it was planted for).
     */
    private static byte[] runHopper(HopperFlashPrefill kernel, String ptx, AttentionProblem problem,
                                    boolean producerAhead) {
        AttentionShape shape = problem.shape();
        WarpEmulator gpu = new WarpEmulator(ptx);
        if (producerAhead) {
            gpu.runAhead(Set.of(0, 1, 2, 3));
        }
        Map<String, Long> params = EmulatedPrefillInputs.hopper(gpu, kernel, problem);
        assertEquals(params.keySet(), new HashSet<>(gpu.params()), "the kernel's parameters");
        int queryBlocks = kernel.queryBlocks(problem.count());
        for (int head = 0; head < shape.numHeads(); head++) {
            for (int block = 0; block < queryBlocks; block++) {
                gpu.runBlock(params, new WarpEmulator.Grid(head, block, shape.numHeads(), queryBlocks),
                        kernel.threads(), kernel.sharedBytes());
            }
        }
        return gpu.bytes(params.get("o"));
    }

    /** Every query row and head of {@code out} (bf16) within {@link #ROW_TOLERANCE} of the float64 attention. */
    private static void assertRowsMatch(String kernel, AttentionProblem problem, byte[] out, long seed) {
        AttentionShape shape = problem.shape();
        int count = problem.count();
        int start = problem.start();
        int headDim = shape.headDim();
        ByteBuffer o = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        double[] want = problem.reference();
        double worst = 0;
        for (int t = 0; t < count; t++) {
            for (int h = 0; h < shape.numHeads(); h++) {
                double error = 0, norm = 0;
                for (int i = 0; i < headDim; i++) {
                    int at = t * shape.queryDim() + h * headDim + i;
                    double got = BFloat16.toFloat(o.getShort(2 * at));
                    error += (got - want[at]) * (got - want[at]);
                    norm += want[at] * want[at];
                }
                worst = Math.max(worst, Math.sqrt(error / norm));
                if (!(Math.sqrt(error) <= ROW_TOLERANCE * Math.sqrt(norm) + 1e-6)) {
                    fail(kernel + ", query " + t + " (position " + (start + t) + "), head " + h
                            + ": relative error " + Math.sqrt(error / norm) + "; seed " + seed);
                }
            }
        }
        System.out.printf("%s, %d queries from %d: worst row's relative error %.2e%n", kernel, count, start, worst);
    }
}
