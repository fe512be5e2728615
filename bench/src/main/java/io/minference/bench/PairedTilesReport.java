package io.minference.bench;

import io.minference.sparse.DenseFallback;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.gpu.PairedTiles;
import io.minference.sparse.pattern.HeadIndex;

import java.util.List;

/**
 * Key tiles the Hopper sparse kernel loads with paired query blocks ({@code -Dminference.sparse.pairs=true}: two
 * 64-row blocks of a head on one key stream, {@link PairedTiles}) against the tiles it computes, for one layer's
 * patterns at LLaMA-3-8B's head layout on the three input families of the sparse benchmarks (seed 1), heads the dense
 * fallback would take (more than {@link DenseFallback#DEFAULT_MAX_TILE_SHARE} of the causal tiles) left out. The
 * selections are the CPU reference's estimates, so this runs without a GPU. Usage:
 * {@code PairedTilesReport PATTERN_FILE LAYER [length...]} (default 32K and 128K).
 */
public final class PairedTilesReport {
    private PairedTilesReport() {
    }

    public static void main(String[] args) {
        SlashTilesReport.LayerArguments arguments = SlashTilesReport.LayerArguments.parseOrExit("PairedTilesReport", args,
                32768, 131072);
        List<HeadPattern> patterns = arguments.patterns();
        int[] lengths = arguments.lengths();
        System.out.println("| L | inputs | sparse heads | key tiles computed | range tiles | tiles loaded with pairs,"
                + " of those computed |");
        System.out.println("| --- | --- | --- | --- | --- | --- |");
        for (int length : lengths) {
            for (String family : SlashTilesReport.FAMILIES) {
                HeadIndex[] selections = SlashTilesReport.selections(patterns, length, family);
                long computed = 0, ranges = 0, loaded = 0;
                int sparseHeads = 0;
                for (HeadIndex selection : selections) {
                    SparseIndex index = SlashTilesReport.index(selection, length);
                    long tiles = index.tiles(0);
                    if (DenseFallback.DEFAULT.runsDense(tiles, length)) continue;
                    sparseHeads++;
                    computed += tiles;
                    for (int b = 0; b < index.queryBlocks(); b++) ranges += index.rangeTiles(0, b);
                    loaded += PairedTiles.loads(index, 0);
                }
                System.out.printf("| %dK | %s | %d | %d | %.0f %% | %.3f |%n", length / 1024, family, sparseHeads,
                        computed, 100.0 * ranges / computed, (double) loaded / computed);
            }
        }
    }
}
