package io.minference.app;

import io.minference.config.AttentionConfig;
import io.minference.kernels.attention.AttentionShape;
import io.minference.llama.generate.SparsePrefill;
import io.minference.llama.session.GenerationListener;
import io.minference.sparse.HeadAccuracy;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.config.PatternFiles;
import io.minference.sparse.synthetic.SyntheticAttention;
import java.util.List;

/**
 * The recall evaluation on generated attention instead of a model's: {@link SyntheticAttention}'s structured inputs
 * (sinks, a local band, strong columns, periodic diagonals, noise) or its unstructured worst case.
 */
final class SyntheticRecall {
    enum Kind { STRUCTURED, RANDOM }

    private SyntheticRecall() {
    }

    /**
     * The patterns of one layer of {@code heads} heads: a pattern file's layer {@code layer} (its head count must
     * match), or the mode's uniform pattern.
     */
    static List<HeadPattern> patterns(AttentionConfig attention, int layer, int heads) {
        if (attention.patterns() == null) {
            return SparsePrefill.of(attention, 1, heads, SparsePrefill.registeredPatterns()).plan().layers()
                    .getFirst();
        }
        PatternPlan plan = PatternFiles.read(attention.patterns(), SparsePrefill.registeredPatterns());
        if (layer >= plan.numLayers()) {
            throw new IllegalArgumentException("layer " + layer + " does not exist: " + attention.patterns() + " has "
                    + plan.numLayers() + " layers");
        }
        List<HeadPattern> patterns = plan.layers().get(layer);
        if (patterns.size() != heads) {
            throw new IllegalArgumentException(attention.patterns() + ": layer " + layer + " has " + patterns.size()
                    + " heads, the synthetic shape " + heads + " (--heads)");
        }
        return patterns;
    }

    /** @param progress ("recall", heads done, heads) after each head */
    static List<HeadAccuracy.Result> measure(Kind kind, AttentionShape shape, int length, long seed,
                                             List<HeadPattern> patterns, GenerationListener progress) {
        try (SyntheticAttention.Sample sample = kind == Kind.STRUCTURED
                ? SyntheticAttention.structured(shape, length, seed)
                : SyntheticAttention.random(shape, length, seed)) {
            return HeadAccuracy.measure(shape, sample.queries(), sample.keys(), sample.values(), length, patterns,
                    progress);
        }
    }
}
