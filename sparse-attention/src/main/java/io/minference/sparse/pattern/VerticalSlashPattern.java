package io.minference.sparse.pattern;

import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.estimate.Selection;
import io.minference.sparse.estimate.VerticalSlashScores;
import java.util.Map;
import java.util.Set;

/**
 * Key columns and diagonals estimated online from the last 64 queries ({@link VerticalSlashScores}); columns
 * {@code j < 30} and diagonals {@code δ < 100} are forced; each budget (top-k clamped to the length, or mass with
 * total n, the number of estimation rows) selects by {@link Selection}; {@link VerticalSlashIndex} builds the index.
 * Parameters: "vertical" and "slash", each a count or "mass:γ".
 */
public final class VerticalSlashPattern implements SparsePattern {
    public static final String NAME = "vertical-slash";
    public static final int FORCED_COLUMNS = 30;
    public static final int FORCED_DIAGONALS = 100;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public HeadPattern parse(Map<String, String> parameters) {
        PatternParameters.requireOnly(NAME, parameters, Set.of("vertical", "slash"));
        return new HeadPattern.VerticalSlash(
                PatternParameters.budget(NAME, "vertical", PatternParameters.required(NAME, parameters, "vertical")),
                PatternParameters.budget(NAME, "slash", PatternParameters.required(NAME, parameters, "slash")));
    }

    @Override
    public Map<String, String> parameters(HeadPattern pattern) {
        HeadPattern.VerticalSlash vs = SparsePattern.expect(HeadPattern.VerticalSlash.class, pattern, NAME);
        return Map.of("vertical", PatternParameters.format(vs.vertical()),
                "slash", PatternParameters.format(vs.slash()));
    }

    @Override
    public IndexCapacity capacity(HeadPattern pattern, int length) {
        HeadPattern.VerticalSlash vs = SparsePattern.expect(HeadPattern.VerticalSlash.class, pattern, NAME);
        int blocks = SparseIndex.queryBlocks(length);
        int diagonals = vs.slash() instanceof Budget.TopK(int k) ? Math.min(k, length) : length;
        int columns = vs.vertical() instanceof Budget.TopK(int k) ? Math.min(k, length) : length;
        return new IndexCapacity(Math.max(1, Math.min(diagonals, blocks)), columns);
    }

    @Override
    public HeadIndex estimate(HeadPattern pattern, LayerInputs inputs, int head) {
        HeadPattern.VerticalSlash vs = SparsePattern.expect(HeadPattern.VerticalSlash.class, pattern, NAME);
        return select(vs, VerticalSlashScores.estimate(inputs, head), inputs.length());
    }

    /** The selection of {@code pattern}'s budgets over estimated scores. */
    public static VerticalSlashIndex select(HeadPattern.VerticalSlash pattern, VerticalSlashScores scores,
                                            int length) {
        int[] columns = Selection.select(scores.vertical(), length, j -> j < FORCED_COLUMNS, pattern.vertical(),
                scores.rows());
        int[] diagonals = Selection.select(scores.slash(), length, d -> d < FORCED_DIAGONALS, pattern.slash(),
                scores.rows());
        return new VerticalSlashIndex(columns, diagonals, length);
    }
}
