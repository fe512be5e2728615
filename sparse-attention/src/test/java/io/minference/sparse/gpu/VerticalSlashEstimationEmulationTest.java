package io.minference.sparse.gpu;

import io.minference.kernels.WarpEmulator;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.ptx.PtxTarget;
import io.minference.runtime.Tensor;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.estimate.VerticalSlashScores;
import io.minference.sparse.gpu.SparseAttentionChecks.Problem;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The vertical-slash estimation's three launches as {@code GpuIndexBuilder} runs them (the tile kernel's row
 * statistics on the tensor cores, their combination, the tile kernel's scores), their PTX run by
 * {@link WarpEmulator} without a GPU, against the CPU's {@link VerticalSlashScores#estimate}: every column and
 * diagonal score of every head within 1e-3 of its own size plus 1e-5 of the list's mass. Random bf16 queries and keys
 * (seed printed), grouped-query heads, prompts of one and of two tiles of keys and of fewer than 64 queries, a head
 * size whose query rows are not a whole number of 16-byte chunks a thread (48), and the CUDA-core variant.
 */
class VerticalSlashEstimationEmulationTest {
    @ParameterizedTest(name = "d {0}, {1} tokens, tensor cores {2}")
    @CsvSource({"64, 300, true", "128, 200, true", "64, 40, true", "48, 100, true", "64, 300, false",
            "48, 40, false"})
    void scoresMatchTheCpuEstimate(int headDim, int length, boolean tensorCores) {
        long seed = System.nanoTime();
        System.out.println("VerticalSlashEstimationEmulationTest seed " + seed);
        Random random = new Random(seed);
        AttentionShape shape = new AttentionShape(4, 2, headDim);
        int heads = shape.numHeads(), tiles = (length + VerticalSlashTile.COLUMNS - 1) / VerticalSlashTile.COLUMNS;
        float[] q = Problem.gaussians(random, length * shape.queryDim(), 1.5);
        float[] k = Problem.gaussians(random, length * shape.kvDim(), 1.5);
        int[] words = HeadParameters.encode(Collections.nCopies(heads, HeadPattern.VerticalSlash.DEFAULT), 0, heads,
                length).words();

        VerticalSlashTile rowStatsTile = new VerticalSlashTile(headDim, VerticalSlashTile.Mode.ROW_STATS, tensorCores);
        VerticalSlashTile scoresTile = new VerticalSlashTile(headDim, VerticalSlashTile.Mode.SCORES, tensorCores);
        WarpEmulator rowStats = new WarpEmulator(rowStatsTile.emit(PtxTarget.SM_80).ptx());
        long stats = rowStats.allocate(4 * heads * tiles * VerticalSlashTile.ROWS * 2);
        long combined = rowStats.allocate(4 * heads * VerticalSlashTile.ROWS * 2);
        Map<String, Long> tileParams = new HashMap<>();
        tileParams.put("q", rowStats.upload(WarpEmulator.bf16Bytes(q)));
        tileParams.put("k", rowStats.upload(WarpEmulator.bf16Bytes(k)));
        tileParams.put("params", rowStats.upload(WarpEmulator.u32Bytes(words)));
        tileParams.put("stats", stats);
        tileParams.put("rowStats", combined);
        tileParams.put("scores", rowStats.allocate(4 * heads * 2 * length));
        tileParams.put("firstHead", 0L);
        tileParams.put("numHeads", (long) heads);
        tileParams.put("numKvHeads", (long) shape.numKvHeads());
        tileParams.put("length", (long) length);
        tileParams.put("scale", (long) Float.floatToRawIntBits(FlashAttention.log2Scale(headDim)));
        runTiles(rowStats, tileParams, rowStatsTile, tiles, heads);

        WarpEmulator combine = new WarpEmulator(new VerticalSlashRowStats().emit(PtxTarget.SM_80).ptx());
        Map<String, Long> combineParams = new HashMap<>();
        combineParams.put("params", combine.upload(WarpEmulator.u32Bytes(words)));
        combineParams.put("stats", combine.upload(rowStats.bytes(stats)));
        long combinedAgain = combine.allocate(4 * heads * VerticalSlashTile.ROWS * 2);
        combineParams.put("rowStats", combinedAgain);
        combineParams.put("tiles", (long) tiles);
        combineParams.put("length", (long) length);
        assertEquals(new HashSet<>(combine.params()), combineParams.keySet(), "the combine's parameters");
        for (int slot = 0; slot < heads; slot++) {
            combine.runBlock(combineParams, slot, 0, 1, VerticalSlashRowStats.THREADS);
        }

        WarpEmulator scores = new WarpEmulator(scoresTile.emit(PtxTarget.SM_80).ptx());
        Map<String, Long> scoreParams = new HashMap<>(tileParams);
        scoreParams.put("q", scores.upload(rowStats.bytes(tileParams.get("q"))));
        scoreParams.put("k", scores.upload(rowStats.bytes(tileParams.get("k"))));
        scoreParams.put("params", scores.upload(WarpEmulator.u32Bytes(words)));
        scoreParams.put("stats", scores.upload(rowStats.bytes(stats)));
        scoreParams.put("rowStats", scores.upload(combine.bytes(combinedAgain)));
        long out = scores.allocate(4 * heads * 2 * length);
        scoreParams.put("scores", out);
        runTiles(scores, scoreParams, scoresTile, tiles, heads);

        ByteBuffer got = ByteBuffer.wrap(scores.bytes(out)).order(ByteOrder.LITTLE_ENDIAN);
        try (Tensor queries = Tensor.ofFloats(q, length, shape.queryDim());
             Tensor keys = Tensor.ofFloats(k, length, shape.kvDim())) {
            LayerInputs inputs = new LayerInputs(shape, queries, keys, length);
            for (int h = 0; h < heads; h++) {
                VerticalSlashScores want = VerticalSlashScores.estimate(inputs, h);
                for (int kind = 0; kind < 2; kind++) {
                    double[] expected = kind == 0 ? want.vertical() : want.slash();
                    for (int j = 0; j < length; j++) {
                        double value = got.getFloat(4 * ((2 * h + kind) * length + j));
                        if (!(Math.abs(value - expected[j]) <= 1e-3 * Math.abs(expected[j]) + 1e-5 * want.rows())) {
                            fail("head " + h + (kind == 0 ? " column " : " diagonal ") + j + ": " + value + ", CPU "
                                    + expected[j] + "; seed " + seed);
                        }
                    }
                }
            }
        }
    }

    /** Grid (heads, tiles), {@link VerticalSlashTile#COLUMNS} threads, its dynamic shared memory. */
    private static void runTiles(WarpEmulator gpu, Map<String, Long> params, VerticalSlashTile kernel, int tiles,
                                 int heads) {
        assertEquals(new HashSet<>(gpu.params()), params.keySet(), "the tile kernel's parameters");
        for (int slot = 0; slot < heads; slot++) {
            for (int t = 0; t < tiles; t++) {
                gpu.runBlock(params, new WarpEmulator.Grid(slot, t, heads, tiles), VerticalSlashTile.COLUMNS,
                        kernel.sharedBytes());
            }
        }
    }
}
