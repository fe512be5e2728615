package io.minference.sparse.gpu;

import io.minference.kernels.WarpEmulator;
import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.SparseIndex;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The estimation kernels' cycles per block in {@link WarpEmulator}'s latency model
 * ({@link WarpEmulator#modelledCycles}), for the sparse-attention build on the class path: one block of each tile
 * pass (64 rows by 256 keys, d 128), the row statistics' combine over one head's tiles, the selection of one list, the
 * index passes' last query block of a head of MInference's default budget (1000 columns, 6096 diagonals), and the
 * launch order's sort of 32 heads' slots. It uses only what every build since session 16 has, so that
 * {@code bench/scripts/estimation-latency.sh} can run it on an earlier jar too. A report, not a test:
 * {@code main(LENGTH)}.
 */
public final class EstimationLatencyReport {
    private static final Random RANDOM = new Random(1);

    private EstimationLatencyReport() {
    }

    public static void main(String[] args) {
        int length = Integer.parseInt(args[0]);
        for (VerticalSlashTile.Mode mode : VerticalSlashTile.Mode.values()) {
            System.out.printf("tile pass %s: %d cycles a block%n", mode, tilePass(mode));
        }
        System.out.printf("combine: %d cycles a head of %d tiles%n", combine(length), length / 256);
        System.out.printf("selection: %d cycles a list of %d%n", selection(length), length);
        for (boolean count : new boolean[] {true, false}) {
            System.out.printf("index %s: %d cycles, the last query block%n", count ? "count" : "assembly",
                    indexBlock(count, length));
        }
        int slots = 32 * SparseIndex.queryBlocks(length);
        System.out.printf("slot order: %d cycles for %d slots%n", slotOrder(slots, length), slots);
    }

    private static long tilePass(VerticalSlashTile.Mode mode) {
        return tilePassBlock(mode).modelledCycles();
    }

    /**
     * One block of a tile pass (d 128, tensor cores, random queries and keys) in the emulator, which is returned
     * after the run: every tile does the same work, so one block stands for all ({@link EstimationIssueMeasurement}
     * counts its instructions).
     */
    static WarpEmulator tilePassBlock(VerticalSlashTile.Mode mode) {
        int length = 512, d = 128;
        VerticalSlashTile kernel = new VerticalSlashTile(d, mode, true);
        WarpEmulator gpu = emulator(kernel);
        float[] q = gaussians(length * d), k = gaussians(length * d);
        Map<String, Long> p = new HashMap<>();
        p.put("q", gpu.upload(WarpEmulator.bf16Bytes(q)));
        p.put("k", gpu.upload(WarpEmulator.bf16Bytes(k)));
        p.put("params", params(gpu, length));
        p.put("stats", gpu.allocate(8 * 2 * 64));
        p.put("rowStats", gpu.allocate(8 * 64));
        p.put("scores", gpu.allocate(8 * length));
        p.put("firstHead", 0L);
        p.put("numHeads", 1L);
        p.put("numKvHeads", 1L);
        p.put("length", (long) length);
        p.put("scale", (long) Float.floatToRawIntBits(0.1f));
        gpu.runBlock(p, new WarpEmulator.Grid(0, 0, 1, 2), VerticalSlashTile.COLUMNS, kernel.sharedBytes());
        return gpu;
    }

    private static long combine(int length) {
        int tiles = length / 256;
        WarpEmulator gpu = emulator(new VerticalSlashRowStats());
        float[] stats = new float[tiles * 64 * 2];
        for (int i = 0; i < stats.length; i += 2) {
            stats[i] = (float) RANDOM.nextGaussian();
            stats[i + 1] = 1 + RANDOM.nextFloat();
        }
        Map<String, Long> p = new HashMap<>();
        p.put("params", params(gpu, length));
        p.put("stats", gpu.upload(WarpEmulator.f32Bytes(stats)));
        p.put("rowStats", gpu.allocate(8 * 64));
        p.put("tiles", (long) tiles);
        p.put("length", (long) length);
        gpu.runBlock(p, 0, 0, 1, combineThreads());
        return gpu.modelledCycles();
    }

    /** The combine's block: {@code VerticalSlashRowStats.THREADS} where the build has it, else one thread a row. */
    private static int combineThreads() {
        try {
            return VerticalSlashRowStats.class.getField("THREADS").getInt(null);
        } catch (ReflectiveOperationException e) {
            return VerticalSlashTile.ROWS;
        }
    }

    private static long selection(int length) {
        return selectionBlocks(length, RANDOM).modelledCycles();
    }

    /**
     * The selection of one head's two lists (columns, then diagonals) of random scores, a block each, in the emulator,
     * which is returned after the runs ({@link EstimationIssueMeasurement} counts their instructions; the latency
     * model's cycles are the diagonals' block's).
     */
    static WarpEmulator selectionBlocks(int length, Random random) {
        float[] scores = new float[2 * length];
        for (int i = 0; i < scores.length; i++) scores[i] = (float) (-Math.log(random.nextDouble()) * 64 / length);
        WarpEmulator gpu = emulator(new VerticalSlashSelect());
        Map<String, Long> p = new HashMap<>();
        p.put("params", params(gpu, length));
        p.put("scores", gpu.upload(WarpEmulator.f32Bytes(scores)));
        p.put("kept", gpu.allocate(8));
        p.put("length", (long) length);
        for (int kind = 0; kind < 2; kind++) {
            gpu.runBlock(p, new WarpEmulator.Grid(kind, 0, 2, 1), VerticalSlashSelect.THREADS, 0);
        }
        return gpu;
    }

    /**
     * The counting or assembly pass's last query block, its inputs worked out here: the kept lists, their runs of
     * diagonals and the bitmap of kept diagonals (an earlier build's kernel ignores the parameters it lacks).
     */
    private static long indexBlock(boolean count, int length) {
        int[] columns = TestIndexes.pick(RANDOM, length, 1000, 30);
        int[] diagonals = TestIndexes.pick(RANDOM, length, 6096, 100);
        int[] lists = new int[2 * length];
        System.arraycopy(columns, 0, lists, 0, columns.length);
        System.arraycopy(diagonals, 0, lists, length, diagonals.length);
        List<int[]> runs = new ArrayList<>();
        for (int delta : diagonals) {
            if (runs.isEmpty() || delta - runs.getLast()[1] > 64) {
                runs.add(new int[] {delta, delta});
            } else {
                runs.getLast()[1] = delta;
            }
        }
        int[] pairs = new int[2 * VerticalSlashRuns.stride(length)];
        for (int r = 0; r < runs.size(); r++) {
            pairs[2 * r] = runs.get(r)[0];
            pairs[2 * r + 1] = runs.get(r)[1];
        }
        int[] bits = new int[(length + 31) / 32];
        for (int delta : diagonals) bits[delta >>> 5] |= 1 << (delta & 31);
        int queryBlocks = SparseIndex.queryBlocks(length);
        WarpEmulator gpu = emulator(new IndexAssembly(count));
        Map<String, Long> p = new HashMap<>();
        p.put("params", params(gpu, length));
        p.put("lists", gpu.upload(WarpEmulator.u32Bytes(lists)));
        p.put("kept", gpu.upload(WarpEmulator.u32Bytes(new int[] {columns.length, diagonals.length})));
        p.put("runs", gpu.upload(WarpEmulator.u32Bytes(pairs)));
        p.put("runCounts", gpu.upload(WarpEmulator.u32Bytes(new int[] {runs.size()})));
        p.put("diagonalBits", gpu.upload(WarpEmulator.u32Bytes(bits)));
        p.put("headTotals", gpu.allocate(16));
        long zeros = gpu.upload(WarpEmulator.u32Bytes(new int[queryBlocks + 1]));
        p.put("rangeOffsets", zeros);
        p.put("columnOffsets", zeros);
        p.put("rangeCounts", gpu.allocate(4 * queryBlocks));
        p.put("columnCounts", gpu.allocate(4 * queryBlocks));
        p.put("ranges", gpu.allocate(8 * (diagonals.length + 2)));
        p.put("columns", gpu.allocate(4 * (columns.length + 1)));
        p.put("length", (long) length);
        p.put("firstSlot", 0L);
        gpu.runBlock(p, new WarpEmulator.Grid(queryBlocks - 1, 0, queryBlocks, 1), IndexAssembly.THREADS, 0);
        return gpu.modelledCycles();
    }

    private static long slotOrder(int slots, int length) {
        int[] tiles = new int[slots];
        for (int i = 0; i < slots; i++) tiles[i] = RANDOM.nextInt(200);
        WarpEmulator gpu = emulator(new SlotOrder(SlotOrder.Pass.ORDER));
        Map<String, Long> p = new HashMap<>();
        p.put("tiles", gpu.upload(WarpEmulator.u32Bytes(tiles)));
        p.put("order", gpu.allocate(4 * slots));
        p.put("slots", (long) slots);
        p.put("tilesPerBucket", (long) SlotOrder.tilesPerBucket(SparseIndex.queryBlocks(length)));
        gpu.runBlock(p, 0, 0, 1, SlotOrder.THREADS);
        return gpu.modelledCycles();
    }

    private static WarpEmulator emulator(KernelDefinition kernel) {
        return new WarpEmulator(kernel.emit(PtxTarget.SM_80).ptx());
    }

    private static long params(WarpEmulator gpu, int length) {
        return gpu.upload(WarpEmulator.u32Bytes(HeadParameters.encode(List.of(HeadPattern.VerticalSlash.DEFAULT), 0, 1,
                length).words()));
    }

    private static float[] gaussians(int count) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float) RANDOM.nextGaussian();
        return values;
    }
}
