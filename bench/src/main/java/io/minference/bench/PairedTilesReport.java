package io.minference.bench;

import io.minference.sparse.DenseFallback;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.gpu.PairedTiles;
import io.minference.sparse.pattern.HeadIndex;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Key tiles the Hopper sparse kernel loads with paired query blocks ({@code -Dminference.sparse.pairs=true}: two
 * 64-row blocks of a head on one key stream, {@link PairedTiles}) against the tiles it computes, for one layer's
 * patterns at LLaMA-3-8B's head layout on the three input families of the sparse benchmarks (seed 1), heads the dense
 * fallback would take (more than {@link DenseFallback#DEFAULT_MAX_TILE_SHARE} of the causal tiles) left out. Beside
 * it, the same ratio for the other way two 64-row blocks could share a key stream: the same query block of two heads
 * of one KV group (heads 2j and 2j + 1, both sparse), a range tile shared where both heads' ranges start one at the
 * same key, gathered column tiles never. The selections are the CPU reference's estimates, so this runs without a
 * GPU. A second table counts the two-block clusters' steps ({@code -Dminference.sparse.cluster=true},
 * {@link PairedTiles#clusterPlaceholders}): the share of a block's steps that are placeholders, with the walk that
 * pairs private tiles and with the one before it, and the turns of the walk that counts the steps. Usage:
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
                + " of those computed | head pairs of a KV group | tiles they load, of those they compute |");
        System.out.println("| --- | --- | --- | --- | --- | --- | --- | --- |");
        List<String> clusters = new ArrayList<>();
        for (int length : lengths) {
            for (String family : SlashTilesReport.FAMILIES) {
                HeadIndex[] selections = SlashTilesReport.selections(patterns, length, family);
                SparseIndex[] sparse = new SparseIndex[selections.length];
                long computed = 0, ranges = 0, loaded = 0;
                int sparseHeads = 0;
                for (int h = 0; h < selections.length; h++) {
                    SparseIndex index = SlashTilesReport.index(selections[h], length);
                    long tiles = index.tiles(0);
                    if (DenseFallback.DEFAULT.runsDense(tiles, length)) continue;
                    sparse[h] = index;
                    sparseHeads++;
                    computed += tiles;
                    for (int b = 0; b < index.queryBlocks(); b++) ranges += index.rangeTiles(0, b);
                    loaded += PairedTiles.loads(index, 0);
                }
                long headPairs = 0, pairComputed = 0, pairLoaded = 0;
                for (int h = 0; h + 1 < sparse.length; h += 2) {
                    if (sparse[h] == null || sparse[h + 1] == null) continue;
                    headPairs++;
                    pairComputed += sparse[h].tiles(0) + sparse[h + 1].tiles(0);
                    pairLoaded += headPairLoads(sparse[h], sparse[h + 1]);
                }
                System.out.printf("| %dK | %s | %d | %d | %.0f %% | %.3f | %d | %s |%n", length / 1024, family,
                        sparseHeads, computed, 100.0 * ranges / computed, (double) loaded / computed, headPairs,
                        headPairs == 0 ? "-" : "%.3f".formatted((double) pairLoaded / pairComputed));
                PairedTiles.ClusterCounts counts = PairedTiles.ClusterCounts.NONE;
                for (SparseIndex index : sparse) {
                    if (index != null) counts = counts.plus(PairedTiles.clusterPlaceholders(index, 0));
                }
                clusters.add("| %dK | %s | %d | %.1f %% | %d | %.1f %% | %.1f | %d | %.1f |".formatted(length / 1024,
                        family, counts.stepsBefore(), 100.0 * counts.placeholdersBefore() / counts.stepsBefore(),
                        counts.steps(), 100.0 * counts.placeholders() / counts.steps(),
                        (double) counts.turns() / counts.clusters(), counts.mostTurns(),
                        counts.steps() / 2.0 / counts.clusters()));
            }
        }
        System.out.println();
        System.out.println("Two-block clusters (cluster=true): block steps over both blocks of every cluster, and the"
                + " share that are placeholders (no tile of the block's slot), with the walk that leaves a block's"
                + " private range tile alone in its step (before) and the one that pairs private tiles (after);"
                + " the turns of the walk that counts a cluster's range steps before its roles split.");
        System.out.println();
        System.out.println("| L | inputs | block steps before | placeholders before | block steps after |"
                + " placeholders after | counting walk's turns a cluster, mean | most | steps a cluster, mean |");
        System.out.println("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        clusters.forEach(System.out::println);
    }

    /**
     * Tiles a block taking the same query block of two heads would load: per query block the union of the two
     * heads' range tiles (each range walked in 64-key tiles from its first key, a tile shared where both start one
     * at the same key), plus both heads' column tiles (their columns differ, so never shared).
     */
    static long headPairLoads(SparseIndex a, SparseIndex b) {
        long loads = 0;
        for (int block = 0; block < a.queryBlocks(); block++) {
            Set<Integer> starts = rangeTileStarts(a, block);
            starts.addAll(rangeTileStarts(b, block));
            loads += starts.size() + a.columnTiles(0, block) + b.columnTiles(0, block);
        }
        return loads;
    }

    private static Set<Integer> rangeTileStarts(SparseIndex index, int block) {
        Set<Integer> starts = new HashSet<>();
        for (int r = 0; r < index.rangeCount(0, block); r++) {
            for (int key = index.rangeStart(0, block, r); key < index.rangeEnd(0, block, r); key += SparseIndex.BLOCK) {
                starts.add(key);
            }
        }
        return starts;
    }
}
