package io.minference.sparse.pattern;

import io.minference.sparse.HeadPattern;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.cpu.LayerInputs;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * Sink tokens plus a local window, block-granular: per query block b with rows {@code [m0, m1)}, the key blocks
 * covering {@code [0, sinkTokens)} and those from the block holding {@code max(0, m0 - localTokens + 1)} to b,
 * merged, ends clipped to m1 (a superset of the token-exact A-shape). Needs no estimation. Parameters: "sink" and
 * "local" (tokens).
 */
public final class AShapePattern implements SparsePattern {
    public static final String NAME = "a-shape";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public HeadPattern parse(Map<String, String> parameters) {
        PatternParameters.requireOnly(NAME, parameters, Set.of("sink", "local"));
        return new HeadPattern.AShape(
                PatternParameters.count(NAME, "sink", PatternParameters.required(NAME, parameters, "sink")),
                PatternParameters.count(NAME, "local", PatternParameters.required(NAME, parameters, "local")));
    }

    @Override
    public Map<String, String> parameters(HeadPattern pattern) {
        HeadPattern.AShape a = SparsePattern.expect(HeadPattern.AShape.class, pattern, NAME);
        return Map.of("sink", Integer.toString(a.sinkTokens()), "local", Integer.toString(a.localTokens()));
    }

    @Override
    public IndexCapacity capacity(HeadPattern pattern, int length) {
        return new IndexCapacity(2, 0);
    }

    @Override
    public HeadIndex estimate(HeadPattern pattern, LayerInputs inputs, int head) {
        return index(SparsePattern.expect(HeadPattern.AShape.class, pattern, NAME));
    }

    public static HeadIndex index(HeadPattern.AShape pattern) {
        return new HeadIndex() {
            public IndexCapacity capacity() {
                return new IndexCapacity(2, 0);
            }

            public void writeTo(SparseIndex index, int h) {
                boolean[] marked = new boolean[index.queryBlocks()];
                int sinkBlocks = SparseIndex.queryBlocks(Math.max(1, pattern.sinkTokens()));
                for (int b = 0; b < index.queryBlocks(); b++) {
                    Arrays.fill(marked, 0, b + 1, false);
                    if (pattern.sinkTokens() > 0) {
                        for (int c = 0; c < Math.min(sinkBlocks, b + 1); c++) marked[c] = true;
                    }
                    int m0 = b * SparseIndex.BLOCK;
                    for (int c = Math.max(0, m0 - pattern.localTokens() + 1) / SparseIndex.BLOCK; c <= b; c++) {
                        marked[c] = true;
                    }
                    BlockRuns.write(index, h, b, marked);
                }
            }
        };
    }
}
