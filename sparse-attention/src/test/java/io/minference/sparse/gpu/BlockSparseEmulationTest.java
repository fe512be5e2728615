package io.minference.sparse.gpu;

import io.minference.kernels.WarpEmulator;
import io.minference.kernels.attention.AttentionShape;
import io.minference.ptx.PtxTarget;
import io.minference.runtime.Tensor;
import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.estimate.BlockScores;
import io.minference.sparse.pattern.BlockSparsePattern;
import io.minference.sparse.gpu.SparseAttentionChecks.Problem;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Block-sparse estimation and index building as {@code GpuIndexBuilder} runs them (the pooled means, the counting
 * pass's bound on each slot's runs, the host's offsets, then the selection writing each slot's ranges), their PTX run
 * by {@link WarpEmulator} without a GPU, against the CPU's {@link BlockSparsePattern#select} over
 * {@link BlockScores#estimate}: every slot's ranges equal. Top-k budgets from 1 block to all of them, grouped-query
 * heads, random bf16 inputs (seed printed).
 */
class BlockSparseEmulationTest {
    @ParameterizedTest(name = "d {0}, {1} tokens")
    @CsvSource({"64, 700", "128, 300", "64, 64"})
    void rangesEqualTheCpuSelection(int headDim, int length) {
        long seed = System.nanoTime();
        System.out.println("BlockSparseEmulationTest seed " + seed);
        Random random = new Random(seed);
        AttentionShape shape = new AttentionShape(4, 2, headDim);
        int heads = shape.numHeads(), queryBlocks = SparseIndex.queryBlocks(length), slots = heads * queryBlocks;
        List<HeadPattern> patterns = List.of(new HeadPattern.BlockSparse(Budget.topK(1)),
                new HeadPattern.BlockSparse(Budget.topK(3)), new HeadPattern.BlockSparse(Budget.topK(5)),
                new HeadPattern.BlockSparse(Budget.topK(100)));
        float[] q = Problem.gaussians(random, length * shape.queryDim(), 1.5);
        float[] k = Problem.gaussians(random, length * shape.kvDim(), 1.5);
        int[] words = HeadParameters.encode(patterns, 0, heads, length).words();

        WarpEmulator pool = new WarpEmulator(new BlockPool(headDim).emit(PtxTarget.SM_80).ptx());
        long pooledQ = pool.allocate(4 * heads * queryBlocks * headDim);
        long pooledK = pool.allocate(4 * shape.numKvHeads() * queryBlocks * headDim);
        Map<String, Long> poolParams = new HashMap<>();
        poolParams.put("q", pool.upload(WarpEmulator.bf16Bytes(q)));
        poolParams.put("k", pool.upload(WarpEmulator.bf16Bytes(k)));
        poolParams.put("params", pool.upload(WarpEmulator.u32Bytes(words)));
        poolParams.put("pooledQ", pooledQ);
        poolParams.put("pooledK", pooledK);
        poolParams.put("firstHead", 0L);
        poolParams.put("numHeads", (long) heads);
        poolParams.put("numKvHeads", (long) shape.numKvHeads());
        poolParams.put("length", (long) length);
        poolParams.put("slots", (long) heads);
        assertEquals(new HashSet<>(pool.params()), poolParams.keySet(), "the pooling's parameters");
        for (int y = 0; y < heads + shape.numKvHeads(); y++) {
            for (int b = 0; b < queryBlocks; b++) {
                pool.runBlock(poolParams, new WarpEmulator.Grid(b, y, queryBlocks, heads + shape.numKvHeads()),
                        BlockPool.THREADS, 0);
            }
        }

        WarpEmulator counting = new WarpEmulator(new IndexAssembly(true).emit(PtxTarget.SM_80).ptx());
        Map<String, Long> countParams = new HashMap<>();
        countParams.put("params", counting.upload(WarpEmulator.u32Bytes(words)));
        countParams.put("lists", counting.allocate(4));
        countParams.put("kept", counting.allocate(8 * heads));
        // block-sparse heads have no kept diagonals, so no runs
        countParams.put("runs", counting.allocate(8));
        countParams.put("runCounts", counting.allocate(4 * heads));
        countParams.put("diagonalBits", counting.allocate(4));
        countParams.put("headTotals", counting.allocate(4 * SlotOffsets.HEAD_WORDS * heads));
        long rangeNeeds = counting.allocate(4 * slots), columnNeeds = counting.allocate(4 * slots);
        for (String name : List.of("rangeOffsets", "rangeCounts", "ranges")) countParams.put(name, rangeNeeds);
        for (String name : List.of("columnOffsets", "columnCounts", "columns")) countParams.put(name, columnNeeds);
        countParams.put("length", (long) length);
        countParams.put("firstSlot", 0L);
        for (int h = 0; h < heads; h++) {
            for (int b = 0; b < queryBlocks; b++) {
                counting.runBlock(countParams, new WarpEmulator.Grid(b, h, queryBlocks, heads), IndexAssembly.THREADS,
                        0);
            }
        }
        int[] rangeOffsets = DeviceSparseIndex.offsets(WarpEmulator.u32s(counting.bytes(rangeNeeds)));

        BlockSparseSelect kernel = BlockSparseSelect.forBlocks(headDim, queryBlocks);
        WarpEmulator select = new WarpEmulator(kernel.emit(PtxTarget.SM_80).ptx());
        Map<String, Long> selectParams = new HashMap<>();
        selectParams.put("params", select.upload(WarpEmulator.u32Bytes(words)));
        selectParams.put("pooledQ", select.upload(pool.bytes(pooledQ)));
        selectParams.put("pooledK", select.upload(pool.bytes(pooledK)));
        selectParams.put("rangeOffsets", select.upload(WarpEmulator.u32Bytes(rangeOffsets)));
        long rangeCounts = select.allocate(4 * slots), ranges = select.allocate(8 * (rangeOffsets[slots] + 2));
        selectParams.put("rangeCounts", rangeCounts);
        selectParams.put("ranges", ranges);
        selectParams.put("columnCounts", select.allocate(4 * slots));
        selectParams.put("firstHead", 0L);
        selectParams.put("numHeads", (long) heads);
        selectParams.put("numKvHeads", (long) shape.numKvHeads());
        selectParams.put("length", (long) length);
        selectParams.put("firstSlot", 0L);
        selectParams.put("scale", (long) Float.floatToRawIntBits((float) (1.0 / Math.sqrt(headDim))));
        assertEquals(new HashSet<>(select.params()), selectParams.keySet(), "the selection's parameters");
        for (int h = 0; h < heads; h++) {
            for (int b = 0; b < queryBlocks; b++) {
                select.runBlock(selectParams, new WarpEmulator.Grid(b, h, queryBlocks, heads),
                        BlockSparseSelect.THREADS, 4 * kernel.maxBlocks());
            }
        }

        int[] counts = WarpEmulator.u32s(select.bytes(rangeCounts));
        int[] written = WarpEmulator.u32s(select.bytes(ranges));
        try (Tensor queries = Tensor.ofFloats(q, length, shape.queryDim());
             Tensor keys = Tensor.ofFloats(k, length, shape.kvDim())) {
            LayerInputs inputs = new LayerInputs(shape, queries, keys, length);
            SparseIndex expected = new SparseIndex(0, heads, length, queryBlocks, 0);
            for (int h = 0; h < heads; h++) {
                BlockSparsePattern.select((HeadPattern.BlockSparse) patterns.get(h), BlockScores.estimate(inputs, h),
                        length).writeTo(expected, h);
            }
            DeviceSparseIndex.Packed want = DeviceSparseIndex.Packed.of(expected);
            for (int s = 0; s < slots; s++) {
                String where = "head " + s / queryBlocks + ", block " + s % queryBlocks + ", seed " + seed;
                assertEquals(want.rangeCounts()[s], counts[s], where + ": ranges");
                for (int i = 0; i < 2 * counts[s]; i++) {
                    assertEquals(want.ranges()[2 * want.rangeOffsets()[s] + i], written[2 * rangeOffsets[s] + i],
                            where + ": range word " + i);
                }
            }
        }
    }
}
