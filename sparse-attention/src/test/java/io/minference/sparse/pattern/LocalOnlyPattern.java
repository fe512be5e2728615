package io.minference.sparse.pattern;

import io.minference.sparse.HeadPattern;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.cpu.LayerInputs;
import java.util.Map;
import java.util.Set;

/**
 * A pattern from outside the built-ins, found through META-INF/services: each query block attends its own block and
 * the {@code window} blocks before it, nothing else (no sink). Parameter "window" (blocks).
 */
public final class LocalOnlyPattern implements SparsePattern {
    public static final String NAME = "local-only";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public HeadPattern parse(Map<String, String> parameters) {
        PatternParameters.requireOnly(NAME, parameters, Set.of("window"));
        PatternParameters.count(NAME, "window", PatternParameters.required(NAME, parameters, "window"));
        return new HeadPattern.Custom(NAME, parameters);
    }

    @Override
    public Map<String, String> parameters(HeadPattern pattern) {
        return SparsePattern.expect(HeadPattern.Custom.class, pattern, NAME).parameters();
    }

    @Override
    public IndexCapacity capacity(HeadPattern pattern, int length) {
        return new IndexCapacity(1, 0);
    }

    @Override
    public HeadIndex estimate(HeadPattern pattern, LayerInputs inputs, int head) {
        int window = PatternParameters.count(NAME, "window", parameters(pattern).get("window"));
        return new HeadIndex() {
            public IndexCapacity capacity() {
                return new IndexCapacity(1, 0);
            }

            public void writeTo(SparseIndex index, int h) {
                for (int b = 0; b < index.queryBlocks(); b++) {
                    index.addRange(h, b, Math.max(0, b - window) * SparseIndex.BLOCK, index.blockEnd(b));
                }
            }
        };
    }
}
