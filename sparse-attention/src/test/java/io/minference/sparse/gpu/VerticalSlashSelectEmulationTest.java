package io.minference.sparse.gpu;

import io.minference.kernels.WarpEmulator;
import io.minference.ptx.PtxTarget;
import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.estimate.Selection;
import io.minference.sparse.pattern.VerticalSlashPattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link VerticalSlashSelect}'s PTX (the forced columns and diagonals, then a top-k or a mass budget by
 * {@link ScoreSelect}'s block-wide threshold and compaction, 16 warps) run by {@link WarpEmulator} without a GPU,
 * against the CPU's selection ({@link Selection#select}, as {@link VerticalSlashPattern#select} calls it): the kept
 * columns and diagonals of every vertical-slash head equal, ascending, and a head of another pattern left alone.
 * Random scores without ties (seed printed), each list's mass the estimation rows' count, as the scores kernel leaves
 * it.
 */
class VerticalSlashSelectEmulationTest {
    @ParameterizedTest(name = "{0} tokens")
    @ValueSource(ints = {700, 130, 2000})
    void keptListsEqualTheCpuSelection(int length) {
        long seed = System.nanoTime();
        System.out.println("VerticalSlashSelectEmulationTest seed " + seed);
        Random random = new Random(seed);
        List<HeadPattern> patterns = List.of(new HeadPattern.VerticalSlash(Budget.topK(50), Budget.topK(200)),
                new HeadPattern.VerticalSlash(Budget.mass(0.9), Budget.mass(0.8)), new HeadPattern.Dense(),
                new HeadPattern.VerticalSlash(Budget.topK(5000), Budget.mass(0.5)));
        int heads = patterns.size(), rows = Math.min(length, 64);
        float[] scores = new float[heads * 2 * length];
        for (int list = 0; list < 2 * heads; list++) {
            double sum = 0;
            for (int j = 0; j < length; j++) sum += scores[list * length + j] = (float) -Math.log(random.nextDouble());
            for (int j = 0; j < length; j++) scores[list * length + j] = (float) (scores[list * length + j] / sum * rows);
        }
        WarpEmulator gpu = new WarpEmulator(new VerticalSlashSelect().emit(PtxTarget.SM_80).ptx());
        Map<String, Long> params = new HashMap<>();
        params.put("params", gpu.upload(WarpEmulator.u32Bytes(HeadParameters.encode(patterns, 0, heads, length)
                .words())));
        long lists = gpu.upload(WarpEmulator.f32Bytes(scores));
        params.put("scores", lists);
        int[] untouched = new int[2 * heads];
        Arrays.fill(untouched, 0x5A5A5A5A);
        long kept = gpu.upload(WarpEmulator.u32Bytes(untouched));
        params.put("kept", kept);
        params.put("length", (long) length);
        assertEquals(new HashSet<>(gpu.params()), params.keySet(), "the kernel's parameters");
        for (int slot = 0; slot < heads; slot++) {
            for (int kind = 0; kind < 2; kind++) gpu.runBlock(params, kind, slot, heads, VerticalSlashSelect.THREADS);
        }

        ByteBuffer counts = ByteBuffer.wrap(gpu.bytes(kept)).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer written = ByteBuffer.wrap(gpu.bytes(lists)).order(ByteOrder.LITTLE_ENDIAN);
        for (int slot = 0; slot < heads; slot++) {
            for (int kind = 0; kind < 2; kind++) {
                int list = 2 * slot + kind;
                String what = "head " + slot + (kind == 0 ? " columns" : " diagonals") + ", seed " + seed;
                if (!(patterns.get(slot) instanceof HeadPattern.VerticalSlash vs)) {
                    assertEquals(0x5A5A5A5A, counts.getInt(4 * list), what + ": left alone");
                    continue;
                }
                double[] real = new double[length];
                for (int j = 0; j < length; j++) real[j] = scores[list * length + j];
                int forced = kind == 0 ? VerticalSlashPattern.FORCED_COLUMNS : VerticalSlashPattern.FORCED_DIAGONALS;
                int[] want = Selection.select(real, length, j -> j < forced, kind == 0 ? vs.vertical() : vs.slash(),
                        rows);
                int[] got = new int[counts.getInt(4 * list)];
                for (int i = 0; i < got.length; i++) got[i] = written.getInt(4 * (list * length + i));
                assertEquals(Arrays.toString(want), Arrays.toString(got), what);
            }
        }
    }
}
