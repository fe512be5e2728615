package io.minference.sparse.gpu;

import io.minference.kernels.WarpEmulator;
import io.minference.ptx.PtxTarget;
import io.minference.sparse.HeadPattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link VerticalSlashRowStats}' PTX in {@link WarpEmulator}, on per-tile row statistics made up here rather than by
 * the tile pass, so that a head can have more tiles than its workers take in one batch (the end-to-end emulation
 * test's prompts have one or two): every row's maximum equal to the largest tile maximum, and its reciprocal sum
 * within 1e-5 of {@code 1 / Σ sum_t 2^(max_t - max)} in float64. Tiles whose maximum is -inf (keys the row does not
 * reach, sum 0) are mixed in, a whole head of them but its last tile included; rows past n are not written. Seed
 * printed.
 */
class VerticalSlashRowStatsEmulationTest {
    @ParameterizedTest(name = "{0} tiles, {1} rows")
    @CsvSource({"1, 64", "7, 64", "33, 64", "100, 40", "257, 64"})
    void everyRowCombinesItsTiles(int tiles, int rows) {
        long seed = System.nanoTime();
        System.out.println("VerticalSlashRowStatsEmulationTest seed " + seed);
        Random random = new Random(seed);
        int heads = 3, length = rows < VerticalSlashTile.ROWS ? rows : tiles * VerticalSlashTile.COLUMNS;
        float[] stats = new float[heads * tiles * VerticalSlashTile.ROWS * 2];
        for (int h = 0; h < heads; h++) {
            for (int t = 0; t < tiles; t++) {
                for (int r = 0; r < VerticalSlashTile.ROWS; r++) {
                    int at = statAt(h, t, r, tiles);
                    // every row reaches a key (its own, at least): heads 0 and 1 in their first tile and others at
                    // random, head 2 in its last tile only
                    boolean unreached = h == 2 ? t != tiles - 1 : t > 0 && random.nextInt(5) == 0;
                    stats[at] = unreached ? Float.NEGATIVE_INFINITY : (float) (random.nextGaussian() * 20);
                    stats[at + 1] = unreached ? 0 : (float) (1 + random.nextDouble() * 255);
                }
            }
        }
        List<HeadPattern> patterns = List.of(HeadPattern.VerticalSlash.DEFAULT, HeadPattern.VerticalSlash.DEFAULT,
                HeadPattern.VerticalSlash.DEFAULT);
        WarpEmulator gpu = new WarpEmulator(new VerticalSlashRowStats().emit(PtxTarget.SM_80).ptx());
        long out = gpu.upload(WarpEmulator.f32Bytes(new float[heads * VerticalSlashTile.ROWS * 2]));
        Map<String, Long> params = new HashMap<>();
        params.put("params", gpu.upload(WarpEmulator.u32Bytes(HeadParameters.encode(patterns, 0, heads, length)
                .words())));
        params.put("stats", gpu.upload(WarpEmulator.f32Bytes(stats)));
        params.put("rowStats", out);
        params.put("tiles", (long) tiles);
        params.put("length", (long) length);
        assertEquals(new HashSet<>(gpu.params()), params.keySet(), "the combine's parameters");
        for (int h = 0; h < heads; h++) gpu.runBlock(params, h, 0, 1, VerticalSlashRowStats.THREADS);

        ByteBuffer got = ByteBuffer.wrap(gpu.bytes(out)).order(ByteOrder.LITTLE_ENDIAN);
        int n = Math.min(length, VerticalSlashTile.ROWS);
        for (int h = 0; h < heads; h++) {
            for (int r = 0; r < VerticalSlashTile.ROWS; r++) {
                int at = (h * VerticalSlashTile.ROWS + r) * 2;
                String where = "head " + h + ", row " + r + ", " + tiles + " tiles, seed " + seed;
                if (r >= n) {
                    assertEquals(0, got.getInt(4 * at), where + ": not written");
                    continue;
                }
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t < tiles; t++) max = Math.max(max, stats[statAt(h, t, r, tiles)]);
                double sum = 0;
                for (int t = 0; t < tiles; t++) {
                    int s = statAt(h, t, r, tiles);
                    if (stats[s + 1] > 0) sum += stats[s + 1] * Math.pow(2, stats[s] - max);
                }
                assertEquals(max, got.getFloat(4 * at), 0, where + ": maximum");
                double reciprocal = got.getFloat(4 * at + 4);
                if (!(Math.abs(reciprocal - 1 / sum) <= 1e-5 / sum)) {
                    fail(where + ": reciprocal sum " + reciprocal + ", float64 " + 1 / sum);
                }
            }
        }
    }

    /** Where tile t's (max, sum) of row r of head h lies in the tile pass's statistics. */
    private static int statAt(int h, int t, int r, int tiles) {
        return ((h * tiles + t) * VerticalSlashTile.ROWS + r) * 2;
    }
}
