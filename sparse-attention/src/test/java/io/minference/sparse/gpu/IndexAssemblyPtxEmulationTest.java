package io.minference.sparse.gpu;

import io.minference.kernels.WarpEmulator;
import io.minference.ptx.PtxTarget;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.pattern.VerticalSlashIndex;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link IndexAssembly}'s PTX itself (both passes: the counts and the heads' sums, then the ranges and columns at the
 * offsets {@link SlotOffsets} reserves from them, as {@code GpuIndexBuilder} runs them) in {@link WarpEmulator},
 * without a GPU, from kept column and diagonal lists as {@link VerticalSlashSelect} leaves them, against
 * {@link VerticalSlashIndex} on the CPU, and a dense head against the dense index: every slot's counts, ranges and
 * columns equal, the heads' sums and maxima those of the counts, and the device's offsets the host's prefix sums,
 * for the whole estimate and for a batch of its middle heads. Where {@code IndexAssemblyEmulationTest} restates the
 * kernel's algorithm in Java, this runs what the kernel emits. Random lists (seed printed), some heads sparse, some
 * nearly dense.
 */
class IndexAssemblyPtxEmulationTest {
    @ParameterizedTest(name = "{0} tokens, {1} diagonals, {2} columns")
    @CsvSource({"1000, 12, 24", "777, 40, 8", "2100, 6, 60", "130, 3, 3", "3000, 300, 40", "2500, 20, 5", "300, 1, 2"})
    void bothPassesGiveTheCpuIndex(int length, int diagonalCount, int columnCount) {
        long seed = System.nanoTime();
        System.out.println("IndexAssemblyPtxEmulationTest seed " + seed);
        Random random = new Random(seed);
        int heads = 4, queryBlocks = SparseIndex.queryBlocks(length);
        List<HeadPattern> patterns = new ArrayList<>();
        int[][] columns = new int[heads][], diagonals = new int[heads][];
        SparseIndex expected = new SparseIndex(0, heads, length, queryBlocks, Math.min(columnCount, length));
        for (int h = 0; h < heads; h++) {
            if (h == 2) {
                patterns.add(new HeadPattern.Dense());
                for (int b = 0; b < queryBlocks; b++) expected.addRange(h, b, 0, expected.blockEnd(b));
                continue;
            }
            patterns.add(HeadPattern.VerticalSlash.DEFAULT);
            int c = Math.min(columnCount, length), d = Math.min(diagonalCount, length);
            columns[h] = TestIndexes.pick(random, length, c, Math.min(4, c));
            diagonals[h] = TestIndexes.pick(random, length, d, Math.min(2, d));
            new VerticalSlashIndex(columns[h], diagonals[h], length).writeTo(expected, h);
        }
        // the kept lists as the selection leaves them: [slot][columns, diagonals][length] u32, and their counts
        int[] lists = new int[heads * 2 * length], kept = new int[heads * 2];
        for (int h = 0; h < heads; h++) {
            if (columns[h] == null) continue;
            System.arraycopy(columns[h], 0, lists, 2 * h * length, columns[h].length);
            System.arraycopy(diagonals[h], 0, lists, (2 * h + 1) * length, diagonals[h].length);
            kept[2 * h] = columns[h].length;
            kept[2 * h + 1] = diagonals[h].length;
        }
        int[] words = HeadParameters.encode(patterns, 0, heads, length).words();
        int slots = heads * queryBlocks;
        int[][] runs = runs(words, lists, kept, heads, length);

        WarpEmulator counting = new WarpEmulator(new IndexAssembly(true).emit(PtxTarget.SM_80).ptx());
        Map<String, Long> params = inputs(counting, words, lists, kept, runs, length);
        long rangeCounts = counting.allocate(4 * slots), columnCounts = counting.allocate(4 * slots);
        for (String name : List.of("rangeOffsets", "rangeCounts", "ranges")) params.put(name, rangeCounts);
        for (String name : List.of("columnOffsets", "columnCounts", "columns")) params.put(name, columnCounts);
        run(counting, params, heads, queryBlocks);
        int[] rangeNeeds = WarpEmulator.u32s(counting.bytes(rangeCounts));
        int[] columnNeeds = WarpEmulator.u32s(counting.bytes(columnCounts));
        assertEquals(Arrays.toString(expected.rangeCountArray()), Arrays.toString(rangeNeeds), "ranges per slot");
        assertEquals(Arrays.toString(expected.columnCountArray()), Arrays.toString(columnNeeds), "columns per slot");
        GpuIndexBuilder.HeadNeeds sums = GpuIndexBuilder.HeadNeeds.ofTotals(WarpEmulator.u32s(counting.bytes(
                params.get("headTotals"))), heads);
        GpuIndexBuilder.HeadNeeds want = GpuIndexBuilder.HeadNeeds.ofSlots(rangeNeeds, columnNeeds, queryBlocks);
        for (long[][] pair : new long[][][] {{sums.rangeSums(), want.rangeSums()}, {sums.columnSums(),
                want.columnSums()}, {sums.maxRanges(), want.maxRanges()}, {sums.maxColumns(), want.maxColumns()}}) {
            assertEquals(Arrays.toString(pair[1]), Arrays.toString(pair[0]), "the heads' sums and maxima, seed " + seed);
        }
        int[] rangeOffsets = DeviceSparseIndex.offsets(rangeNeeds);
        int[] columnOffsets = DeviceSparseIndex.offsets(columnNeeds);
        for (int[] batch : new int[][] {{0, heads}, {1, 2}}) {
            int from = batch[0], count = batch[1], first = from * queryBlocks, slotsOfBatch = count * queryBlocks;
            int[][] got = slotOffsets(rangeNeeds, columnNeeds, counting.bytes(params.get("headTotals")), queryBlocks,
                    from, count);
            assertEquals(Arrays.toString(DeviceSparseIndex.offsets(Arrays.copyOfRange(rangeNeeds, first,
                    first + slotsOfBatch))), Arrays.toString(got[0]), "range offsets of heads " + from + ".."
                    + (from + count - 1) + ", seed " + seed);
            assertEquals(Arrays.toString(DeviceSparseIndex.offsets(Arrays.copyOfRange(columnNeeds, first,
                    first + slotsOfBatch))), Arrays.toString(got[1]), "column offsets of heads " + from + ".."
                    + (from + count - 1) + ", seed " + seed);
        }

        WarpEmulator assembly = new WarpEmulator(new IndexAssembly(false).emit(PtxTarget.SM_80).ptx());
        Map<String, Long> writes = inputs(assembly, words, lists, kept, runs, length);
        long ranges = assembly.allocate(8 * (rangeOffsets[slots] + 2));
        long columnsOut = assembly.allocate(4 * (columnOffsets[slots] + 1));
        writes.put("rangeOffsets", assembly.upload(WarpEmulator.u32Bytes(rangeOffsets)));
        writes.put("rangeCounts", assembly.allocate(4 * slots));
        writes.put("ranges", ranges);
        writes.put("columnOffsets", assembly.upload(WarpEmulator.u32Bytes(columnOffsets)));
        writes.put("columnCounts", assembly.allocate(4 * slots));
        writes.put("columns", columnsOut);
        run(assembly, writes, heads, queryBlocks);

        DeviceSparseIndex.Packed packed = DeviceSparseIndex.Packed.of(expected);
        int[] gotRanges = WarpEmulator.u32s(assembly.bytes(ranges));
        int[] gotColumns = WarpEmulator.u32s(assembly.bytes(columnsOut));
        for (int s = 0; s < slots; s++) {
            String where = "slot " + s + " (head " + s / queryBlocks + ", block " + s % queryBlocks + "), seed " + seed;
            for (int i = 0; i < 2 * packed.rangeCounts()[s]; i++) {
                assertEquals(packed.ranges()[2 * packed.rangeOffsets()[s] + i], gotRanges[2 * rangeOffsets[s] + i],
                        where + ": range word " + i);
            }
            for (int i = 0; i < packed.columnCounts()[s]; i++) {
                assertEquals(packed.columns()[packed.columnOffsets()[s] + i], gotColumns[columnOffsets[s] + i],
                        where + ": column " + i);
            }
        }
    }

    /**
     * {@link VerticalSlashRuns}' PTX over the kept lists (grid: the heads), emulated: the runs and their counts per
     * slot, each run checked to be a maximal stretch of kept diagonals at most 64 apart, and the bitmap of kept
     * diagonals, checked to hold each kept diagonal's bit and no other.
     */
    static int[][] runs(int[] words, int[] lists, int[] kept, int heads, int length) {
        WarpEmulator gpu = new WarpEmulator(new VerticalSlashRuns().emit(PtxTarget.SM_80).ptx());
        int stride = VerticalSlashRuns.stride(length);
        int bitWords = VerticalSlashRuns.bitWords(length);
        long runs = gpu.allocate(8 * heads * stride);
        long runCounts = gpu.allocate(4 * heads);
        long diagonalBits = gpu.allocate(4 * heads * bitWords);
        Map<String, Long> params = new HashMap<>();
        params.put("params", gpu.upload(WarpEmulator.u32Bytes(words)));
        params.put("lists", gpu.upload(WarpEmulator.u32Bytes(lists)));
        params.put("kept", gpu.upload(WarpEmulator.u32Bytes(kept)));
        params.put("runs", runs);
        params.put("runCounts", runCounts);
        params.put("diagonalBits", diagonalBits);
        params.put("length", (long) length);
        assertEquals(new HashSet<>(gpu.params()), params.keySet(), "the runs kernel's parameters");
        for (int h = 0; h < heads; h++) {
            gpu.runBlock(params, new WarpEmulator.Grid(h, 0, heads, 1), VerticalSlashRuns.THREADS, 0);
        }
        int[] pairs = WarpEmulator.u32s(gpu.bytes(runs));
        int[] counts = WarpEmulator.u32s(gpu.bytes(runCounts));
        int[] bits = WarpEmulator.u32s(gpu.bytes(diagonalBits));
        for (int h = 0; h < heads; h++) {
            if (HeadParameters.VERTICAL_SLASH != words[h * HeadParameters.STRIDE]) continue;
            List<int[]> expected = new ArrayList<>();
            int count = kept[2 * h + 1];
            for (int i = 0; i < count; i++) {
                int delta = lists[(2 * h + 1) * length + i];
                if (i == 0 || delta - expected.getLast()[1] > VerticalSlashRuns.GAP) {
                    expected.add(new int[] {delta, delta});
                } else {
                    expected.getLast()[1] = delta;
                }
            }
            assertEquals(expected.size(), counts[h], "head " + h + "'s runs");
            int[] keptBits = new int[bitWords];
            for (int i = 0; i < count; i++) {
                int delta = lists[(2 * h + 1) * length + i];
                keptBits[delta >>> 5] |= 1 << (delta & 31);
            }
            assertEquals(Arrays.toString(keptBits), Arrays.toString(Arrays.copyOfRange(bits, h * bitWords,
                    (h + 1) * bitWords)), "head " + h + "'s bitmap of kept diagonals");
            for (int r = 0; r < expected.size(); r++) {
                int at = 2 * (h * stride + r);
                assertEquals(Arrays.toString(expected.get(r)), Arrays.toString(new int[] {pairs[at], pairs[at + 1]}),
                        "head " + h + ", run " + r);
            }
        }
        return new int[][] {pairs, counts, bits};
    }

    /**
     * {@link SlotOffsets}' PTX for heads {@code [from, from + count)} of an estimate, emulated: the range and column
     * offsets it writes, from the slots' needs and the counting pass's head totals.
     */
    private static int[][] slotOffsets(int[] rangeNeeds, int[] columnNeeds, byte[] headTotals, int queryBlocks,
                                       int from, int count) {
        WarpEmulator gpu = new WarpEmulator(new SlotOffsets().emit(PtxTarget.SM_80).ptx());
        int[] needs = new int[2 * rangeNeeds.length];
        System.arraycopy(rangeNeeds, 0, needs, 0, rangeNeeds.length);
        System.arraycopy(columnNeeds, 0, needs, rangeNeeds.length, columnNeeds.length);
        int[] poison = new int[count * queryBlocks + 1];
        Arrays.fill(poison, GpuIndexBuilder.POISON);
        long rangeOffsets = gpu.upload(WarpEmulator.u32Bytes(poison));
        long columnOffsets = gpu.upload(WarpEmulator.u32Bytes(poison));
        Map<String, Long> params = new HashMap<>();
        params.put("needs", gpu.upload(WarpEmulator.u32Bytes(needs)));
        params.put("headTotals", gpu.upload(headTotals));
        params.put("rangeOffsets", rangeOffsets);
        params.put("columnOffsets", columnOffsets);
        params.put("queryBlocks", (long) queryBlocks);
        params.put("estimateSlots", (long) rangeNeeds.length);
        params.put("firstSlot", (long) from);
        assertEquals(new HashSet<>(gpu.params()), params.keySet(), "the offsets kernel's parameters");
        for (int h = 0; h < count; h++) {
            for (int kind = 0; kind < 2; kind++) {
                gpu.runBlock(params, new WarpEmulator.Grid(h, kind, count, 2), SlotOffsets.THREADS, 0);
            }
        }
        return new int[][] {WarpEmulator.u32s(gpu.bytes(rangeOffsets)), WarpEmulator.u32s(gpu.bytes(columnOffsets))};
    }

    /**
     * Both passes' inputs besides the index's arrays: the parameters, the kept lists, their runs and bitmap, and
     * zeroed head totals for the counting pass.
     */
    static Map<String, Long> inputs(WarpEmulator gpu, int[] words, int[] lists, int[] kept, int[][] runs, int length) {
        Map<String, Long> params = new HashMap<>();
        params.put("params", gpu.upload(WarpEmulator.u32Bytes(words)));
        params.put("lists", gpu.upload(WarpEmulator.u32Bytes(lists)));
        params.put("kept", gpu.upload(WarpEmulator.u32Bytes(kept)));
        params.put("runs", gpu.upload(WarpEmulator.u32Bytes(runs[0])));
        params.put("runCounts", gpu.upload(WarpEmulator.u32Bytes(runs[1])));
        params.put("diagonalBits", gpu.upload(WarpEmulator.u32Bytes(runs[2])));
        params.put("headTotals", gpu.allocate(4 * SlotOffsets.HEAD_WORDS * (kept.length / 2)));
        params.put("length", (long) length);
        params.put("firstSlot", 0L);
        return params;
    }

    /** Grid (query blocks, heads), as {@code GpuIndexBuilder} launches both passes. */
    private static void run(WarpEmulator gpu, Map<String, Long> params, int heads, int queryBlocks) {
        assertEquals(new HashSet<>(gpu.params()), params.keySet(), "the kernel's parameters");
        for (int h = 0; h < heads; h++) {
            for (int b = 0; b < queryBlocks; b++) {
                gpu.runBlock(params, new WarpEmulator.Grid(b, h, queryBlocks, heads), IndexAssembly.THREADS, 0);
            }
        }
    }
}
