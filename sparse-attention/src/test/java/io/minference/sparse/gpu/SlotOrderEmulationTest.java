package io.minference.sparse.gpu;

import io.minference.kernels.WarpEmulator;
import io.minference.ptx.PtxTarget;
import io.minference.sparse.SparseIndex;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;

import static io.minference.sparse.gpu.SparseAttentionChecks.assertLongestFirst;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link SlotOrder}'s two passes (the tiles per slot, then the counting sort in one block of 1024 threads with a
 * shared histogram, a block scan and shared atomics), their PTX run by {@link WarpEmulator} without a GPU as
 * {@code SparseFlashAttention.sortSlots} launches them: the order is a permutation of the launch's slots, or pairs of
 * query blocks, longest first ({@link SparseAttentionChecks#assertLongestFirst}, the GPU test's check). Mixed random
 * indexes (seed printed), from the first slot and from a later one.
 */
class SlotOrderEmulationTest {
    @ParameterizedTest(name = "from slot {0}, {1} tokens, pairs {2}")
    // 90,000 tokens: 8,442 slots, more than one batch of the order pass's threads (8,192)
    @CsvSource({"0, 1300, false", "2, 1300, false", "0, 1300, true", "3, 1000, true", "0, 90000, false"})
    void theOrderIsAPermutationLongestFirst(int firstSlot, int length, boolean pairs) {
        long seed = System.nanoTime();
        System.out.println("SlotOrderEmulationTest seed " + seed);
        int heads = 6;
        SparseIndex host = TestIndexes.mixed(new Random(seed), 0, heads, length);
        int queryBlocks = host.queryBlocks(), perUnit = pairs ? 2 : 1;
        int units = (heads - firstSlot) * ((queryBlocks + perUnit - 1) / perUnit);
        long slotsBefore = (long) firstSlot * queryBlocks;
        DeviceSparseIndex.Packed packed = DeviceSparseIndex.Packed.of(host);

        WarpEmulator tilesPass = new WarpEmulator(new SlotOrder(SlotOrder.Pass.TILES, pairs).emit(PtxTarget.SM_80).ptx());
        Map<String, Long> params = new HashMap<>();
        params.put("rangeOffsets", tilesPass.upload(WarpEmulator.u32Bytes(packed.rangeOffsets())) + 4 * slotsBefore);
        params.put("rangeCounts", tilesPass.upload(WarpEmulator.u32Bytes(packed.rangeCounts())) + 4 * slotsBefore);
        params.put("ranges", tilesPass.upload(WarpEmulator.u32Bytes(packed.ranges())));
        params.put("columnCounts", tilesPass.upload(WarpEmulator.u32Bytes(packed.columnCounts())) + 4 * slotsBefore);
        long tiles = tilesPass.allocate(4 * units);
        params.put("tiles", tiles);
        params.put("slots", (long) units);
        if (pairs) params.put("queryBlocks", (long) queryBlocks);
        assertEquals(new HashSet<>(tilesPass.params()), params.keySet(), "the tiles pass's parameters");
        for (int block = 0; block < (units + SlotOrder.THREADS - 1) / SlotOrder.THREADS; block++) {
            tilesPass.runBlock(params, block, 0, 1, SlotOrder.THREADS);
        }

        WarpEmulator orderPass = new WarpEmulator(new SlotOrder(SlotOrder.Pass.ORDER).emit(PtxTarget.SM_80).ptx());
        Map<String, Long> orderParams = new HashMap<>();
        orderParams.put("tiles", orderPass.upload(tilesPass.bytes(tiles)));
        long order = orderPass.allocate(4 * units);
        orderParams.put("order", order);
        orderParams.put("slots", (long) units);
        orderParams.put("tilesPerBucket", (long) SlotOrder.tilesPerBucket(queryBlocks * perUnit));
        assertEquals(new HashSet<>(orderPass.params()), orderParams.keySet(), "the order pass's parameters");
        orderPass.runBlock(orderParams, 0, 0, 1, SlotOrder.THREADS);

        ByteBuffer bytes = ByteBuffer.wrap(orderPass.bytes(order)).order(ByteOrder.LITTLE_ENDIAN);
        int[] placed = new int[units];
        for (int i = 0; i < units; i++) placed[i] = bytes.getInt(4 * i);
        assertLongestFirst(placed, host, firstSlot, pairs, "seed " + seed);
    }
}
