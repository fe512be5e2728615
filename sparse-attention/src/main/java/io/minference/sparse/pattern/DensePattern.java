package io.minference.sparse.pattern;

import io.minference.sparse.HeadPattern;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.cpu.LayerInputs;
import java.util.Map;
import java.util.Set;

/** Every key up to the query: per query block b, the one range {@code [0, end_b)}. */
public final class DensePattern implements SparsePattern {
    public static final String NAME = "dense";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public HeadPattern parse(Map<String, String> parameters) {
        PatternParameters.requireOnly(NAME, parameters, Set.of());
        return new HeadPattern.Dense();
    }

    @Override
    public Map<String, String> parameters(HeadPattern pattern) {
        SparsePattern.expect(HeadPattern.Dense.class, pattern, NAME);
        return Map.of();
    }

    @Override
    public IndexCapacity capacity(HeadPattern pattern, int length) {
        return new IndexCapacity(1, 0);
    }

    @Override
    public HeadIndex estimate(HeadPattern pattern, LayerInputs inputs, int head) {
        SparsePattern.expect(HeadPattern.Dense.class, pattern, NAME);
        return index();
    }

    /** The dense index of any head. */
    public static HeadIndex index() {
        return new HeadIndex() {
            public IndexCapacity capacity() {
                return new IndexCapacity(1, 0);
            }

            public void writeTo(SparseIndex index, int h) {
                for (int b = 0; b < index.queryBlocks(); b++) index.addRange(h, b, 0, index.blockEnd(b));
            }
        };
    }
}
