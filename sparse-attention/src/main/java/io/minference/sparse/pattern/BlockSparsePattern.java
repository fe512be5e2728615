package io.minference.sparse.pattern;

import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.estimate.BlockScores;
import io.minference.sparse.estimate.Selection;
import java.util.Map;
import java.util.Set;

/**
 * Key blocks chosen per query block from mean-pooled queries and keys ({@link BlockScores}): blocks 0 and b are
 * forced; top-k keeps {@code min(k, b + 1)} by score, mass keeps by the softmax of the row's block scores (total:
 * their computed sum). Kept blocks, merged into runs, become ranges; no columns. Parameter: "blocks", a count or
 * "mass:γ".
 */
public final class BlockSparsePattern implements SparsePattern {
    public static final String NAME = "block-sparse";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public HeadPattern parse(Map<String, String> parameters) {
        PatternParameters.requireOnly(NAME, parameters, Set.of("blocks"));
        return new HeadPattern.BlockSparse(
                PatternParameters.budget(NAME, "blocks", PatternParameters.required(NAME, parameters, "blocks")));
    }

    @Override
    public Map<String, String> parameters(HeadPattern pattern) {
        HeadPattern.BlockSparse bs = SparsePattern.expect(HeadPattern.BlockSparse.class, pattern, NAME);
        return Map.of("blocks", PatternParameters.format(bs.blocks()));
    }

    @Override
    public IndexCapacity capacity(HeadPattern pattern, int length) {
        HeadPattern.BlockSparse bs = SparsePattern.expect(HeadPattern.BlockSparse.class, pattern, NAME);
        int blocks = SparseIndex.queryBlocks(length);
        int kept = bs.blocks() instanceof Budget.TopK(int k) ? Math.min(k, blocks) : blocks;
        return new IndexCapacity(Math.max(1, kept), 0);
    }

    @Override
    public HeadIndex estimate(HeadPattern pattern, LayerInputs inputs, int head) {
        HeadPattern.BlockSparse bs = SparsePattern.expect(HeadPattern.BlockSparse.class, pattern, NAME);
        return select(bs, BlockScores.estimate(inputs, head), inputs.length());
    }

    /** The kept key blocks of every query block under {@code pattern}'s budget. */
    public static HeadIndex select(HeadPattern.BlockSparse pattern, BlockScores scores, int length) {
        int blocks = SparseIndex.queryBlocks(length);
        boolean[][] kept = new boolean[blocks][];
        int maxRuns = 1;
        for (int b = 0; b < blocks; b++) {
            int row = b;
            double[] real = pattern.blocks() instanceof Budget.Mass ? scores.probabilities(b) : scores.scores()[b];
            int[] chosen = Selection.select(real, b + 1, c -> c == 0 || c == row, pattern.blocks());
            kept[b] = new boolean[b + 1];
            for (int c : chosen) kept[b][c] = true;
            maxRuns = Math.max(maxRuns, BlockRuns.count(kept[b], b));
        }
        IndexCapacity capacity = new IndexCapacity(maxRuns, 0);
        return new HeadIndex() {
            public IndexCapacity capacity() {
                return capacity;
            }

            public void writeTo(SparseIndex index, int h) {
                if (index.length() != length) {
                    throw new IllegalArgumentException("index of " + index.length() + " tokens for a selection of "
                            + length);
                }
                for (int b = 0; b < blocks; b++) BlockRuns.write(index, h, b, kept[b]);
            }
        };
    }
}
