package io.minference.sparse;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.pattern.PatternRegistry;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Offline, kernel-aware pattern search, as MInference does it: per head, every candidate's index is built on the
 * calibration queries and keys exactly as the prefill builds it, its cost measured as the 64 × 64 tiles that index
 * makes the kernels compute ({@link IndexCost}), and its accuracy by two measures against the head's dense attention:
 * <ul>
 *   <li>recall: the mean over query rows of the dense attention mass on the attended keys;</li>
 *   <li>output errors: the elements of the head's output that differ from dense by more than
 *       {@value #OUTPUT_TOLERANCE} (MInference's {@code search_pattern_v2} criterion).</li>
 * </ul>
 * The choice: among the candidates whose tiles fit the budget (a fraction of the tiles of dense causal attention; 1,
 * the default, admits all), the best by the criterion; ties go to fewer tiles, then to the earlier candidate. When
 * no candidate fits, the one with the fewest tiles.
 *
 * <p>Two candidate sets ({@link Candidates}):
 * <ul>
 *   <li>{@code equal-cost}: patterns of about equal nominal cost, {@code T} attended keys per row
 *       ({@link #defaultTarget} unless given): vertical-slash with the slash budget a fraction f of T and the
 *       vertical budget the rest, for f = 0.86 (MInference's default 1000/6096 split), 0.5, 0.97, 0.14 and 0.03
 *       (like MInference's 3500/100); a-shape with 64 sink tokens and a local window of T − 64; block-sparse
 *       keeping the top T / 64 key blocks. What they actually cost is measured, not assumed.</li>
 *   <li>{@code minference}: the candidates of MInference's {@code search_pattern_v2}: stream_llm 100/800 (a-shape
 *       100 + 800), vertical_and_slash 30/800, 100/800, 100/750, 500/700, 3500/100 and 1000/4096, block_sparse
 *       (top 100 blocks).</li>
 * </ul>
 * All budgets are top-k counts, so the chosen patterns carry over to longer prompts at the same absolute cost.
 */
public final class PatternSearch {
    /** Slash shares of the equal-cost vertical-slash candidates, in tie-breaking order. */
    static final double[] SLASH_SHARES = {0.86, 0.5, 0.97, 0.14, 0.03};
    static final int SINK_TOKENS = 64;
    /** An output element counts as wrong when it is this far from dense attention's (MInference's threshold). */
    public static final double OUTPUT_TOLERANCE = 5e-3;

    /** Which measure picks the pattern. */
    public enum Criterion {
        /** The highest recall. */
        RECALL,
        /** The fewest output elements off by more than {@link #OUTPUT_TOLERANCE}. */
        OUTPUT_ERROR;

        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** Which patterns are tried. */
    public enum Candidates {
        EQUAL_COST, MINFERENCE;

        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** How the search runs: candidate set, target keys per row (equal-cost only), criterion and tile budget. */
    public record Settings(Candidates candidates, int keysPerRow, Criterion criterion, double tileBudget) {
        public Settings {
            if (!(tileBudget > 0 && tileBudget <= 1)) {
                throw new IllegalArgumentException("the tile budget is a fraction of dense in (0, 1], got "
                        + tileBudget);
            }
        }

        /** Equal-cost candidates at the default target, chosen by recall, no tile budget. */
        public static Settings defaults(int length) {
            return new Settings(Candidates.EQUAL_COST, defaultTarget(length), Criterion.RECALL, 1);
        }

        public List<HeadPattern> patterns() {
            return candidates == Candidates.MINFERENCE ? minferenceCandidates() : PatternSearch.candidates(keysPerRow);
        }
    }

    /** One candidate measured on one head: the cost of its index, its recall and its output errors. */
    public record Measured(HeadPattern pattern, IndexCost cost, double recall, long outputErrors) {
    }

    /** The chosen pattern of one head, with every candidate as measured (in candidate order). */
    public record Choice(int head, Measured chosen, List<Measured> candidates) {
        public HeadPattern pattern() {
            return chosen.pattern();
        }
    }

    private PatternSearch() {
    }

    /**
     * Chooses a pattern for every head of one layer from its calibration queries, keys and values (F32,
     * {@code [≥length, queryDim]} and {@code [≥length, kvDim]}, RoPE applied).
     */
    public static List<Choice> searchLayer(AttentionShape shape, Tensor queries, Tensor keys, Tensor values,
                                           int length, Settings settings) {
        LayerInputs inputs = new LayerInputs(shape, queries, keys, length);
        LayerInputs.requireRows(values, length, shape.kvDim(), "values");
        List<HeadPattern> candidates = settings.patterns();
        PatternRegistry registry = PatternRegistry.builtIn();
        long tileLimit = (long) Math.floor(settings.tileBudget() * IndexCost.denseTiles(length));
        List<Choice> choices = new ArrayList<>();
        try (Tensor dense = HeadAccuracy.denseOutput(shape, queries, keys, values, length);
             Tensor sparse = Tensor.allocate(DType.F32, length, shape.queryDim())) {
            for (int head = 0; head < shape.numHeads(); head++) {
                List<SparseIndex> indices = new ArrayList<>();
                for (HeadPattern p : candidates) {
                    indices.add(HeadAccuracy.indexOf(registry.estimate(p, inputs, head), head, length));
                }
                double[] recall = RecallMeter.recall(inputs, head, indices);
                List<Measured> measured = new ArrayList<>();
                for (int c = 0; c < candidates.size(); c++) {
                    CpuSparseAttention.attend(shape, queries, keys, values, sparse, indices.get(c));
                    measured.add(new Measured(candidates.get(c), IndexCost.of(indices.get(c), 0), recall[c],
                            HeadAccuracy.outputErrors(shape, dense, sparse, head, length, OUTPUT_TOLERANCE)));
                }
                choices.add(new Choice(head, choose(measured, settings.criterion(), tileLimit), measured));
            }
        }
        return choices;
    }

    /** The rule of the class comment; {@code measured} in candidate order. */
    static Measured choose(List<Measured> measured, Criterion criterion, long tileLimit) {
        Comparator<Measured> better = switch (criterion) {
            case RECALL -> Comparator.comparingDouble((Measured m) -> -m.recall());
            case OUTPUT_ERROR -> Comparator.comparingLong(Measured::outputErrors);
        };
        better = better.thenComparingLong(m -> m.cost().tiles());
        Measured best = null;
        for (Measured m : measured) {
            if (m.cost().tiles() > tileLimit) continue;
            if (best == null || better.compare(m, best) < 0) best = m;
        }
        if (best != null) return best;
        return measured.stream().min(Comparator.comparingLong(m -> m.cost().tiles())).orElseThrow();
    }

    /**
     * The default target: MInference's default budget (1000 columns + 6096 diagonals = 7096 keys per row), but at most
     * an eighth of the calibration length (so that the search does not compare nearly dense candidates on a short
     * calibration text), and at least 256.
     */
    public static int defaultTarget(int length) {
        return Math.max(256, Math.min(7096, length / 8));
    }

    /** The equal-cost candidates for a target of {@code keysPerRow} (see the class comment). */
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

    /** MInference's candidates (its {@code search_pattern_v2}), in its order. */
    public static List<HeadPattern> minferenceCandidates() {
        List<HeadPattern> candidates = new ArrayList<>();
        candidates.add(new HeadPattern.AShape(100, 800));
        int[][] verticalSlash = {{30, 800}, {100, 800}, {100, 750}, {500, 700}, {3500, 100}, {1000, 4096}};
        for (int[] vs : verticalSlash) {
            candidates.add(new HeadPattern.VerticalSlash(Budget.topK(vs[0]), Budget.topK(vs[1])));
        }
        candidates.add(new HeadPattern.BlockSparse(Budget.topK(100)));
        return candidates;
    }
}
