package io.minference.bench;

import io.minference.kernels.attention.AttentionShape;
import io.minference.sparse.DenseFallback;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.config.PatternFileException;
import io.minference.sparse.config.PatternFiles;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.pattern.HeadIndex;
import io.minference.sparse.pattern.PatternRegistry;
import io.minference.sparse.pattern.VerticalSlashIndex;
import io.minference.sparse.synthetic.SyntheticAttention;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Key tiles the sparse kernel computes per head, with exact slash ranges (each kept diagonal's 64 keys per query
 * block, {@link VerticalSlashIndex}) and with the rule before them (each diagonal's keys rounded out to whole 64-key
 * blocks, runs of blocks merged, the kept columns outside those blocks), for one layer's patterns at LLaMA-3-8B's
 * head layout (32 heads, 8 KV heads, d 128) on the three input families of the sparse benchmarks (seed 1). The
 * selections are the CPU reference's estimates (the GPU builds the same up to float ties), so this runs without a
 * GPU. Beside them, the tiles the Hopper kernel computes with range boxes of 16 and of 8 keys
 * ({@code -Dminference.sparse.range-box}: a range tile filled box by box through the slot's ranges,
 * {@link SparseIndex#boxedTiles(int, int)}), and with boxes of 16 the share of range tiles whose keys lie in one
 * range, which the kernel copies whole ({@link #oneRangeTiles}). Last, the column tiles the kernel gathers beside
 * those it would compute from a compact copy of each head's columns ({@link #compactColumnTiles}), and the gathered
 * ones' share of the tiles. Usage: {@code SlashTilesReport PATTERN_FILE LAYER [length...]} (default 8K and 16K).
 */
public final class SlashTilesReport {
    private static final AttentionShape SHAPE = new AttentionShape(32, 8, 128);

    private SlashTilesReport() {
    }

    /** A report's (or a layer benchmark's) arguments: one layer's patterns and the lengths to run. */
    public record LayerArguments(List<HeadPattern> patterns, int[] lengths) {
        /**
         * {@code PATTERN_FILE LAYER [length...]}; a missing argument, a number that is not one, an unreadable pattern
         * file or a layer the file lacks is an error whose message names it.
         */
        public static LayerArguments parse(String tool, String[] args, int... defaultLengths) {
            if (args.length < 2) {
                throw new IllegalArgumentException("usage: " + tool + " PATTERN_FILE LAYER [length...]");
            }
            int layer = number("LAYER", args[1]);
            int[] lengths = args.length > 2 ? Arrays.stream(args, 2, args.length).mapToInt(a -> number("a length", a))
                    .toArray() : defaultLengths;
            var plan = PatternFiles.read(Path.of(args[0]));
            if (layer < 0 || layer >= plan.numLayers()) {
                throw new IllegalArgumentException(args[0] + " has layers 0 to " + (plan.numLayers() - 1) + ", not "
                        + layer);
            }
            return new LayerArguments(plan.layers().get(layer), lengths);
        }

        /** {@link #parse}, or its error on stderr and the process ended with status 2. */
        static LayerArguments parseOrExit(String tool, String[] args, int... defaultLengths) {
            try {
                return parse(tool, args, defaultLengths);
            } catch (IllegalArgumentException | PatternFileException e) {
                System.err.println(e.getMessage());
                System.exit(2);
                throw e;
            }
        }

        private static int number(String what, String text) {
            try {
                return Integer.parseInt(text.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(what + " must be a whole number, not '" + text + "'");
            }
        }
    }

    public static void main(String[] args) {
        LayerArguments arguments = LayerArguments.parseOrExit("SlashTilesReport", args, 8192, 16384);
        List<HeadPattern> patterns = arguments.patterns();
        int[] lengths = arguments.lengths();
        System.out.println("| L | inputs | head | pattern | tiles, blocks rounded out | tiles, exact | change"
                + " | share of causal, exact | range boxes of 16 | of 8 | boxes of 16: range tiles in one range"
                + " | column tiles, gathered | from a compact copy | column tiles' share of boxes of 16 |");
        System.out.println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (int length : lengths) {
            for (String family : FAMILIES) {
                HeadIndex[] selections = selections(patterns, length, family);
                long[][] tiles = new long[SHAPE.numHeads()][];
                for (int h = 0; h < tiles.length; h++) tiles[h] = tiles(selections[h], length);
                report(length, family, patterns, tiles);
            }
        }
    }

    /** The three input families of the sparse benchmarks, seed 1. */
    static final List<String> FAMILIES = List.of("structured", "random", "rope");

    /**
     * The CPU reference's selection of every head of a layer's {@code patterns} at LLaMA-3-8B's head layout on one
     * input family ({@link #FAMILIES}) of {@code length} tokens.
     */
    static HeadIndex[] selections(List<HeadPattern> patterns, int length, String family) {
        try (SyntheticAttention.Sample sample = switch (family) {
            case "structured" -> SyntheticAttention.structured(SHAPE, length, 1);
            case "random" -> SyntheticAttention.random(SHAPE, length, 1);
            default -> SyntheticAttention.rope(SHAPE, length, 1);
        }) {
            LayerInputs inputs = new LayerInputs(SHAPE, sample.queries(), sample.keys(), length);
            HeadIndex[] selections = new HeadIndex[SHAPE.numHeads()];
            IntStream.range(0, SHAPE.numHeads()).parallel().forEach(h -> selections[h] =
                    PatternRegistry.builtIn().estimate(patterns.get(h), inputs, h));
            return selections;
        }
    }

    /** One head's selection as a one-head index. */
    static SparseIndex index(HeadIndex selection, int length) {
        var capacity = selection.capacity();
        SparseIndex index = new SparseIndex(0, 1, length, capacity.maxRanges(), capacity.maxColumns());
        selection.writeTo(index, 0);
        return index;
    }

    /** Range boxes beside the whole tile: the kernel's {@code rangeBox} settings the report counts. */
    private static final int[] BOXES = {16, 8};

    /**
     * {tiles rounded out to blocks, exact tiles, then exact tiles with each of {@link #BOXES}, then with boxes of
     * {@link #BOXES}[0] the range tiles and those of them whose 64 keys lie in one range, then the gathered column
     * tiles and the compact copy's} of one head's selection (rounded and exact equal for other patterns than slashes,
     * and gathered and compact too).
     */
    private static long[] tiles(HeadIndex selection, int length) {
        SparseIndex index = index(selection, length);
        long exact = index.tiles(0);
        long rounded = selection instanceof VerticalSlashIndex slashes ? blockRoundedTiles(slashes) : exact;
        long[] tiles = new long[6 + BOXES.length];
        tiles[0] = rounded;
        tiles[1] = exact;
        for (int i = 0; i < BOXES.length; i++) tiles[2 + i] = index.boxedTiles(0, BOXES[i]);
        for (int b = 0; b < index.queryBlocks(); b++) {
            tiles[2 + BOXES.length] += index.rangeTiles(0, b, BOXES[0]);
            tiles[4 + BOXES.length] += index.columnTiles(0, b);
        }
        tiles[3 + BOXES.length] = oneRangeTiles(index, BOXES[0]);
        tiles[5 + BOXES.length] = selection instanceof VerticalSlashIndex slashes ? compactColumnTiles(slashes)
                : tiles[4 + BOXES.length];
        return tiles;
    }

    /**
     * Column tiles if each head's kept columns were copied once, in order, into a compact K and V of their own, and a
     * query block took that copy's first tiles up to its last column below the block's end, masking the columns its
     * ranges already cover, instead of gathering only the uncovered ones: {@code sum over blocks of ceil(columns below
     * the block's end / 64)}. Every such tile is 64 consecutive rows of the copy, one TMA copy like a range tile.
     */
    static long compactColumnTiles(VerticalSlashIndex selection) {
        int[] columns = selection.columns();
        long tiles = 0;
        int below = 0;
        for (int b = 0; b < SparseIndex.queryBlocks(selection.length()); b++) {
            int end = Math.min((b + 1) * SparseIndex.BLOCK, selection.length());
            while (below < columns.length && columns[below] < end) below++;
            tiles += (below + SparseIndex.BLOCK - 1) / SparseIndex.BLOCK;
        }
        return tiles;
    }

    /**
     * Range tiles of a one-head index, filled with boxes of {@code box} keys as the Hopper kernel walks them, whose
     * 64 keys all lie in the range the tile starts in: the tiles the kernel copies whole, in one copy of 64 rows.
     */
    static long oneRangeTiles(SparseIndex index, int box) {
        long whole = 0;
        for (int b = 0; b < index.queryBlocks(); b++) {
            int ranges = index.rangeCount(0, b);
            int range = 0;
            int start = ranges == 0 ? 0 : index.rangeStart(0, b, 0);
            while (range < ranges) {
                if (start + SparseIndex.BLOCK <= index.rangeEnd(0, b, range)) whole++;
                for (int boxes = 0; boxes < SparseIndex.BLOCK / box && range < ranges; boxes++) {
                    start += box;
                    if (start >= index.rangeEnd(0, b, range) && ++range < ranges) start = index.rangeStart(0, b, range);
                }
            }
        }
        return whole;
    }

    /** The former rule: each diagonal's keys [max(0, m0 - δ), m1 - δ) rounded out to whole key blocks. */
    static long blockRoundedTiles(VerticalSlashIndex selection) {
        int length = selection.length();
        long tiles = 0;
        for (int b = 0; b < SparseIndex.queryBlocks(length); b++) {
            int m0 = b * SparseIndex.BLOCK;
            int m1 = Math.min(m0 + SparseIndex.BLOCK, length);
            boolean[] blocks = new boolean[b + 1];
            for (int delta : selection.diagonals()) {
                if (delta >= m1) break;
                for (int c = Math.max(0, m0 - delta) / 64; c <= (m1 - delta - 1) / 64; c++) blocks[c] = true;
            }
            int columns = 0;
            for (int j : selection.columns()) {
                if (j >= m1) break;
                if (!blocks[j / 64]) columns++;
            }
            for (boolean kept : blocks) if (kept) tiles++;
            tiles += (columns + 63) / 64;
        }
        return tiles;
    }

    private static void report(int length, String family, List<HeadPattern> patterns, long[][] tiles) {
        long causal = SparseIndex.causalTiles(length);
        long[] layer = new long[tiles[0].length];
        long[] sparse = new long[tiles[0].length];
        int sparseHeads = 0;
        for (int h = 0; h < tiles.length; h++) {
            boolean dense = DenseFallback.DEFAULT.runsDense(tiles[h][1], length);
            for (int i = 0; i < layer.length; i++) {
                layer[i] += tiles[h][i];
                if (!dense) sparse[i] += tiles[h][i];
            }
            if (!dense) sparseHeads++;
            System.out.printf("| %dK | %s | %d | %s | %s%n", length / 1024, family, h, patterns.get(h),
                    columns(tiles[h], causal));
        }
        System.out.printf("| %dK | %s | all | layer | %s%n", length / 1024, family,
                columns(layer, causal * tiles.length));
        // the heads the dense fallback leaves to the sparse kernel: where the boxes count
        System.out.printf("| %dK | %s | %d sparse | layer | %s%n", length / 1024, family, sparseHeads,
                columns(sparse, causal * Math.max(sparseHeads, 1)));
    }

    /**
     * A row's counts: rounded, exact, the change, the share of {@code causal}, then each box's tiles and change, then
     * the share of the first box's range tiles that lie in one range.
     */
    private static String columns(long[] tiles, long causal) {
        StringBuilder row = new StringBuilder(String.format("%d | %d | %+.1f %% | %.3f |", tiles[0], tiles[1],
                change(tiles[1], tiles[0]), (double) tiles[1] / causal));
        for (int i = 2; i < 2 + BOXES.length; i++) {
            row.append(String.format(" %d (%+.1f %%) |", tiles[i], change(tiles[i], tiles[1])));
        }
        long rangeTiles = tiles[2 + BOXES.length];
        row.append(String.format(" %.3f |", rangeTiles == 0 ? 0 : (double) tiles[3 + BOXES.length] / rangeTiles));
        long gathered = tiles[4 + BOXES.length], compact = tiles[5 + BOXES.length];
        row.append(String.format(" %d | %d (%+.1f %%) | %.3f |", gathered, compact, change(compact, gathered),
                tiles[2] == 0 ? 0 : (double) gathered / tiles[2]));
        return row.toString();
    }

    private static double change(long now, long before) {
        return before == 0 ? 0 : 100.0 * (now - before) / before;
    }
}
