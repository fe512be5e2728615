package io.minference.llama.session;

import io.minference.config.AttentionConfig;
import io.minference.kernels.attention.AttentionShape;
import io.minference.llama.generate.SparsePrefill;
import io.minference.runtime.ProgressListener;
import io.minference.sparse.HeadAccuracy;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.config.PatternFiles;
import io.minference.sparse.synthetic.SyntheticAttention;
import java.util.List;

/**
 * The recall evaluation on generated attention instead of a model's: {@link SyntheticAttention}'s structured inputs
 * (sinks, a local band, strong columns, periodic diagonals, noise) or its unstructured worst case, measured as
 * {@link LlamaSession#recall} measures a model's layer.
 */
public final class SyntheticRecall {
    public enum Kind { STRUCTURED, RANDOM }

    private SyntheticRecall() {
    }

    /**
     * Refuses a shape the attention kernels cannot take (heads not a multiple of the KV heads, a head size other
     * than 64 or 128, ...), with an IllegalArgumentException that names the problem.
     */
    public static void checkShape(int heads, int kvHeads, int headDim) {
        new AttentionShape(heads, kvHeads, headDim);
    }

    /**
     * The patterns of one layer of {@code heads} heads: a pattern file's layer {@code layer} (its head count must
     * match), or the mode's uniform pattern.
     */
    public static List<HeadPattern> patterns(AttentionConfig attention, int layer, int heads) {
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

    /**
     * Each head's density, recall and output error under {@code patterns} on generated attention of this shape,
     * reported as layer {@code layer}.
     *
     * @param progress ("recall", heads done, heads) after each head
     */
    public static List<HeadRecall> measure(Kind kind, int heads, int kvHeads, int headDim, int length, long seed,
                                           int layer, List<HeadPattern> patterns, ProgressListener progress) {
        AttentionShape shape = new AttentionShape(heads, kvHeads, headDim);
        try (SyntheticAttention.Sample sample = kind == Kind.STRUCTURED
                ? SyntheticAttention.structured(shape, length, seed)
                : SyntheticAttention.random(shape, length, seed)) {
            return HeadAccuracy.measure(shape, sample.queries(), sample.keys(), sample.values(), length, patterns,
                    progress).stream().map(r -> new HeadRecall(layer, r.head(), patterns.get(r.head()), r.density(),
                    r.recall(), r.relativeError())).toList();
        }
    }
}
