package io.minference.sparse.gpu;

import io.minference.kernels.WarpEmulator;
import io.minference.ptx.PtxTarget;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.SparseIndex;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Warp instructions the vertical-slash estimation's tile passes, selection and runs, and the index assembly issue for
 * one head of MInference's default budget (1000 columns, 6096 diagonals), counted in {@link WarpEmulator} (no GPU)
 * and scaled to a layer of 32 such heads: the tile passes' block per 256 keys, the selection's two blocks per head
 * over the whole prompt, the runs pass's one, and the index's counting and assembly passes over
 * every query block (measured on the last, the middle and the first query block and interpolated, since a block
 * walks the kept diagonals below its end). Divided by what an H200 issues (132 SMs, four schedulers each, one warp
 * instruction a cycle at about 1.75 GHz), an issue-bound floor per kernel, to set beside the kernels' measured
 * durations ({@code bench/scripts/ncu-sparse.sh 4}). Not a check: it runs with
 * {@code -Dminference.issue.measure=true} and prints its table; {@code -Dminference.issue.lengths} names other
 * prompt lengths.
 */
class EstimationIssueMeasurement {
    private static final int SMS = 132;
    private static final double CLOCK = 1.75e9;
    private static final double WARP_ISSUES_PER_SECOND = SMS * 4 * CLOCK;
    private static final int HEADS = 32;

    @Test
    void warpInstructionsPerLayer() {
        assumeTrue(Boolean.getBoolean("minference.issue.measure"), "a measurement: -Dminference.issue.measure=true");
        for (int length : lengths()) {
            Random random = new Random(1);
            int[] columns = TestIndexes.pick(random, length, 1000, 30);
            int[] diagonals = TestIndexes.pick(random, length, 6096, 100);
            int queryBlocks = SparseIndex.queryBlocks(length);
            WarpEmulator selection = EstimationLatencyReport.selectionBlocks(length, random);
            double select = perBlock(selection) * 2 * HEADS;
            // 64 lists, a block each: each block has an SM to itself, so its floor is its own instructions at four a
            // cycle, not the layer's spread over every SM
            double selectFloor = perBlock(selection) / (4 * CLOCK);
            double runPass = runPass(length, diagonals) * HEADS;
            // the two tile passes: a block per 256 keys and head, each pass alike but for its output
            double tiles = (double) (length / VerticalSlashTile.COLUMNS) * HEADS;
            WarpEmulator rowStatsBlock = EstimationLatencyReport.tilePassBlock(VerticalSlashTile.Mode.ROW_STATS);
            WarpEmulator scoresBlock = EstimationLatencyReport.tilePassBlock(VerticalSlashTile.Mode.SCORES);
            double rowStats = total(rowStatsBlock) * tiles;
            double scores = total(scoresBlock) * tiles;
            System.out.printf("L %d: tile passes (row statistics, scores) %.3g + %.3g warp instructions (%.3f + %.3f ms"
                            + " issue-bound)%n", length, rowStats, scores, 1e3 * rowStats / WARP_ISSUES_PER_SECOND,
                    1e3 * scores / WARP_ISSUES_PER_SECOND);
            // the latency model: waves of two tile-pass blocks an SM (their shared memory), one selection block a list
            double waves = Math.ceil(tiles / (2.0 * SMS));
            System.out.printf("L %d: latency model, a block: tile passes %d + %d cycles (%.3f + %.3f ms in %.0f waves),"
                            + " selection %d cycles (%.3f ms, a block a list)%n", length,
                    rowStatsBlock.modelledCycles(), scoresBlock.modelledCycles(),
                    1e3 * waves * rowStatsBlock.modelledCycles() / CLOCK, 1e3 * waves * scoresBlock.modelledCycles()
                            / CLOCK, waves, selection.modelledCycles(), 1e3 * selection.modelledCycles() / CLOCK);
            double count = 0, assembly = 0;
            int[] sampled = {0, queryBlocks / 2, queryBlocks - 1};
            long[][] issued = new long[2][sampled.length];
            for (int pass = 0; pass < 2; pass++) {
                for (int i = 0; i < sampled.length; i++) {
                    issued[pass][i] = indexBlock(pass == 0, length, columns, diagonals, sampled[i]);
                }
            }
            // piecewise linear in the block: sum over blocks of the interpolation between the samples
            for (int pass = 0; pass < 2; pass++) {
                double total = 0;
                for (int b = 0; b < queryBlocks; b++) {
                    int segment = b <= sampled[1] ? 0 : 1;
                    double from = issued[pass][segment], to = issued[pass][segment + 1];
                    int width = Math.max(1, sampled[segment + 1] - sampled[segment]);
                    total += from + (to - from) * (b - sampled[segment]) / width;
                }
                if (pass == 0) count = total * HEADS; else assembly = total * HEADS;
            }
            System.out.printf("L %d: selection %.3g warp instructions (%.3f ms issue-bound, a block an SM), diagonal"
                            + " runs %.3g (%.3f ms), index count %.3g (%.3f ms), index assembly %.3g (%.3f ms); per"
                            + " block, first / last query block: count %d / %d, assembly %d / %d%n", length, select,
                    1e3 * selectFloor, runPass, 1e3 * runPass / WARP_ISSUES_PER_SECOND, count,
                    1e3 * count / WARP_ISSUES_PER_SECOND, assembly, 1e3 * assembly / WARP_ISSUES_PER_SECOND,
                    issued[0][0], issued[0][2], issued[1][0], issued[1][2]);
        }
    }

    /** The prompt lengths measured: {@code -Dminference.issue.lengths=32768,1048576}, 32K and 128K by default. */
    private static List<Integer> lengths() {
        String lengths = System.getProperty("minference.issue.lengths", "32768,131072");
        return Arrays.stream(lengths.split(",")).map(String::strip).map(Integer::valueOf).toList();
    }

    /** Warp instructions of {@link VerticalSlashRuns}' block for one head's kept diagonals. */
    private static long runPass(int length, int[] diagonals) {
        int[] lists = new int[2 * length];
        System.arraycopy(diagonals, 0, lists, length, diagonals.length);
        WarpEmulator gpu = new WarpEmulator(new VerticalSlashRuns().emit(PtxTarget.SM_80).ptx());
        Map<String, Long> params = new HashMap<>();
        params.put("params", gpu.upload(WarpEmulator.u32Bytes(HeadParameters.encode(
                List.of(HeadPattern.VerticalSlash.DEFAULT), 0, 1, length).words())));
        params.put("lists", gpu.upload(WarpEmulator.u32Bytes(lists)));
        params.put("kept", gpu.upload(WarpEmulator.u32Bytes(new int[] {0, diagonals.length})));
        params.put("runs", gpu.allocate(8 * VerticalSlashRuns.stride(length)));
        params.put("runCounts", gpu.allocate(4));
        params.put("diagonalBits", gpu.allocate(4 * VerticalSlashRuns.bitWords(length)));
        params.put("length", (long) length);
        gpu.runBlock(params, new WarpEmulator.Grid(0, 0, 1, 1), VerticalSlashRuns.THREADS, 0);
        return total(gpu);
    }

    /** Warp instructions per block, averaged over the blocks an emulator ran (two for the selection). */
    private static double perBlock(WarpEmulator gpu) {
        return total(gpu) / 2.0;
    }

    private static long total(WarpEmulator gpu) {
        return gpu.issued().values().stream().flatMap(m -> m.values().stream()).mapToLong(Long::longValue).sum();
    }

    /** Warp instructions of one block (query block {@code block}) of the counting or the assembly pass. */
    private static long indexBlock(boolean count, int length, int[] columns, int[] diagonals, int block) {
        int[] lists = new int[2 * length];
        System.arraycopy(columns, 0, lists, 0, columns.length);
        System.arraycopy(diagonals, 0, lists, length, diagonals.length);
        int[] kept = {columns.length, diagonals.length};
        int[] words = HeadParameters.encode(List.of(HeadPattern.VerticalSlash.DEFAULT), 0, 1, length).words();
        int[][] runs = IndexAssemblyPtxEmulationTest.runs(words, lists, kept, 1, length);
        int queryBlocks = SparseIndex.queryBlocks(length);
        WarpEmulator gpu = new WarpEmulator(new IndexAssembly(count).emit(PtxTarget.SM_80).ptx());
        Map<String, Long> params = IndexAssemblyPtxEmulationTest.inputs(gpu, words, lists, kept, runs, length);
        // room for any slot's ranges and columns at offset 0 of every slot
        long zeros = gpu.upload(WarpEmulator.u32Bytes(new int[queryBlocks + 1]));
        params.put("rangeOffsets", zeros);
        params.put("rangeCounts", gpu.allocate(4 * queryBlocks));
        params.put("ranges", gpu.allocate(8 * (diagonals.length + 1)));
        params.put("columnOffsets", zeros);
        params.put("columnCounts", gpu.allocate(4 * queryBlocks));
        params.put("columns", gpu.allocate(4 * (columns.length + 1)));
        gpu.runBlock(params, new WarpEmulator.Grid(block, 0, queryBlocks, 1), IndexAssembly.THREADS, 0);
        return total(gpu);
    }
}
