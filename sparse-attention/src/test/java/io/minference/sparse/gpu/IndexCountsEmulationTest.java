package io.minference.sparse.gpu;

import io.minference.kernels.WarpEmulator;
import io.minference.ptx.PtxTarget;
import io.minference.sparse.SparseIndex;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The device's counts of a sparse index, their PTX run by {@link WarpEmulator} without a GPU over an index packed as
 * the device's: {@link IndexTiles} (the key tiles per head, which the dense fallback and the reported tile counts
 * rest on) against {@link SparseIndex#tiles(int)}, and {@link IndexKeys} (the (query, key) pairs per head, the
 * measured density) against its CPU twin {@link IndexKeys#count}. Every pattern kind, random (seed printed).
 */
class IndexCountsEmulationTest {
    @ParameterizedTest(name = "{0}, {1} tokens")
    @CsvSource({"VERTICAL_SLASH, 1000", "A_SHAPE, 777", "BLOCK_SPARSE, 640", "MIXED, 1300", "DENSE, 300"})
    void tilesAndKeysPerHeadEqualTheHostCounts(String pattern, int length) {
        long seed = System.nanoTime();
        System.out.println("IndexCountsEmulationTest seed " + seed);
        Random random = new Random(seed);
        int heads = 5;
        SparseIndex index = switch (pattern) {
            case "VERTICAL_SLASH" -> TestIndexes.verticalSlash(random, 0, heads, length, 12, 24);
            case "A_SHAPE" -> TestIndexes.aShape(0, heads, length, 64, 200);
            case "BLOCK_SPARSE" -> TestIndexes.blockSparse(random, 0, heads, length, 0.3);
            case "DENSE" -> TestIndexes.dense(0, heads, length);
            default -> TestIndexes.mixed(random, 0, heads, length);
        };
        DeviceSparseIndex.Packed packed = DeviceSparseIndex.Packed.of(index);

        WarpEmulator tilesKernel = new WarpEmulator(new IndexTiles().emit(PtxTarget.SM_80).ptx());
        Map<String, Long> params = EmulatedIndexes.upload(tilesKernel, packed);
        params.remove("columnOffsets");
        params.remove("columns");
        long tiles = tilesKernel.allocate(4 * heads);
        params.put("tiles", tiles);
        run(tilesKernel, params, index, IndexTiles.THREADS);
        ByteBuffer tileCounts = ByteBuffer.wrap(tilesKernel.bytes(tiles)).order(ByteOrder.LITTLE_ENDIAN);

        WarpEmulator keysKernel = new WarpEmulator(new IndexKeys().emit(PtxTarget.SM_80).ptx());
        Map<String, Long> keyParams = EmulatedIndexes.upload(keysKernel, packed);
        long keys = keysKernel.allocate(8 * heads);
        keyParams.put("keys", keys);
        keyParams.put("length", (long) length);
        run(keysKernel, keyParams, index, IndexKeys.THREADS);
        ByteBuffer keyCounts = ByteBuffer.wrap(keysKernel.bytes(keys)).order(ByteOrder.LITTLE_ENDIAN);

        long[] expectedKeys = IndexKeys.count(index);
        for (int h = 0; h < heads; h++) {
            assertEquals(index.tiles(h), tileCounts.getInt(4 * h), "tiles of head " + h + ", seed " + seed);
            assertEquals(expectedKeys[h], keyCounts.getLong(8 * h), "keys of head " + h + ", seed " + seed);
        }
    }

    /** Grid (query blocks, heads), as {@code GpuIndexBuilder} launches the counts. */
    private static void run(WarpEmulator gpu, Map<String, Long> params, SparseIndex index, int threads) {
        assertEquals(new HashSet<>(gpu.params()), params.keySet(), "the kernel's parameters");
        for (int head = 0; head < index.heads(); head++) {
            for (int block = 0; block < index.queryBlocks(); block++) {
                gpu.runBlock(params, new WarpEmulator.Grid(block, head, index.queryBlocks(), index.heads()), threads,
                        0);
            }
        }
    }
}
