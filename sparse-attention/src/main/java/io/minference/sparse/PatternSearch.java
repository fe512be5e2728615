package io.minference.sparse;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.Tensor;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.pattern.PatternRegistry;
import java.util.ArrayList;
import java.util.List;

/**
 * Offline, kernel-aware pattern search, as MInference does it: per head, among candidate patterns and budgets of
 * about equal kernel cost, the one whose index keeps the most attention mass (recall, the mean over query rows of
 * the dense attention mass on the attended keys) on calibration data.
 *
 * <p>Cost is counted as attended keys per query row once the budgets saturate, {@code T} ({@link #defaultTarget}
 * unless given). The candidates for a target T, in the order that breaks ties in recall:
 * <ol>
 *   <li>vertical-slash with the slash budget a fraction f of T and the vertical budget the rest, for
 *       f = 0.86 (MInference's default 1000/6096 split), 0.5, 0.97 (mostly diagonals), 0.14 and 0.03 (mostly
 *       columns, like MInference's 3500/100);</li>
 *   <li>a-shape with 64 sink tokens and a local window of T − 64;</li>
 *   <li>block-sparse keeping the top T / 64 key blocks.</li>
 * </ol>
 * All budgets are top-k counts, so the chosen patterns carry over to longer prompts at the same absolute cost.
 */
public final class PatternSearch {
    /** Slash shares of the vertical-slash candidates, in tie-breaking order. */
    static final double[] SLASH_SHARES = {0.86, 0.5, 0.97, 0.14, 0.03};
    static final int SINK_TOKENS = 64;

    /** The chosen pattern of one head, with the recall of every candidate (in {@link #candidates} order). */
    public record Choice(int head, HeadPattern pattern, double recall, double[] candidateRecalls) {
    }

    private PatternSearch() {
    }

    /**
     * Chooses a pattern for every head of one layer from its calibration queries and keys (F32,
     * {@code [≥length, queryDim]} and {@code [≥length, kvDim]}, RoPE applied), at {@link #defaultTarget}.
     */
    public static List<HeadPattern> searchLayer(AttentionShape shape, Tensor queries, Tensor keys, int length) {
        return searchLayer(shape, queries, keys, length, defaultTarget(length)).stream().map(Choice::pattern)
                .toList();
    }

    /** The search at a target of {@code keysPerRow} attended keys per query row, with every candidate's recall. */
    public static List<Choice> searchLayer(AttentionShape shape, Tensor queries, Tensor keys, int length,
                                           int keysPerRow) {
        LayerInputs inputs = new LayerInputs(shape, queries, keys, length);
        List<HeadPattern> candidates = candidates(keysPerRow);
        PatternRegistry registry = PatternRegistry.builtIn();
        List<Choice> choices = new ArrayList<>();
        for (int head = 0; head < shape.numHeads(); head++) {
            List<SparseIndex> indices = new ArrayList<>();
            for (HeadPattern p : candidates) {
                indices.add(HeadAccuracy.indexOf(registry.estimate(p, inputs, head), head, length));
            }
            double[] recall = RecallMeter.recall(inputs, head, indices);
            int best = 0;
            for (int c = 1; c < recall.length; c++) if (recall[c] > recall[best]) best = c;
            choices.add(new Choice(head, candidates.get(best), recall[best], recall));
        }
        return choices;
    }

    /**
     * The default cost: MInference's default budget (1000 columns + 6096 diagonals = 7096 keys per row), but at most
     * an eighth of the calibration length (so that the search does not compare nearly dense candidates on a short
     * calibration text), and at least 256.
     */
    public static int defaultTarget(int length) {
        return Math.max(256, Math.min(7096, length / 8));
    }

    /** The candidates of about equal cost for a target of {@code keysPerRow} (see the class comment). */
    public static List<HeadPattern> candidates(int keysPerRow) {
        if (keysPerRow < 2 * SINK_TOKENS) {
            throw new IllegalArgumentException("a search target of " + keysPerRow + " keys per row is below "
                    + 2 * SINK_TOKENS);
        }
        List<HeadPattern> candidates = new ArrayList<>();
        for (double share : SLASH_SHARES) {
            int slash = (int) Math.round(share * keysPerRow);
            candidates.add(new HeadPattern.VerticalSlash(Budget.topK(keysPerRow - slash), Budget.topK(slash)));
        }
        candidates.add(new HeadPattern.AShape(SINK_TOKENS, keysPerRow - SINK_TOKENS));
        candidates.add(new HeadPattern.BlockSparse(Budget.topK(keysPerRow / SparseIndex.BLOCK)));
        return candidates;
    }
}
