package io.minference.llama.session;

import io.minference.config.AttentionConfig;
import io.minference.llama.LlamaConfig;
import io.minference.llama.generate.SparsePrefill;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * How a session prefills prompts: dense, or a {@link SparsePrefill} (a mode's per-head patterns, applied to prompts
 * of at least its threshold). Decode steps are always dense.
 */
public final class AttentionPlan {
    private static final AttentionPlan DENSE = new AttentionPlan(null);

    private final SparsePrefill sparse;

    private AttentionPlan(SparsePrefill sparse) {
        this.sparse = sparse;
    }

    public static AttentionPlan dense() {
        return DENSE;
    }

    public static AttentionPlan sparse(SparsePrefill sparse) {
        return new AttentionPlan(Objects.requireNonNull(sparse, "sparse"));
    }

    /**
     * The plan that {@code attention} asks for (see {@link SparsePrefill#of}), its pattern file read and checked
     * against the model's layers and heads.
     *
     * @param customPatterns names of SPI patterns a YAML pattern file may use besides the built-in ones
     */
    public static AttentionPlan of(AttentionConfig attention, LlamaConfig model, Set<String> customPatterns) {
        SparsePrefill sparse = SparsePrefill.of(attention, model, customPatterns);
        return sparse == null ? DENSE : new AttentionPlan(sparse);
    }

    /** The sparse prefill, empty for dense. */
    public Optional<SparsePrefill> sparsePrefill() {
        return Optional.ofNullable(sparse);
    }

    /** The mode's name: {@link LlamaSession#DENSE}, or the sparse mode's (minference, a-shape, ...). */
    public String mode() {
        return sparse == null ? LlamaSession.DENSE : sparse.mode();
    }

    /** Whether a prompt of {@code length} tokens is prefilled sparsely. */
    public boolean sparseFor(int length) {
        return sparse != null && sparse.appliesTo(length);
    }

    /** The attention a prompt of {@code length} tokens gets: {@link LlamaSession#DENSE} or the sparse mode. */
    public String pathFor(int length) {
        return sparseFor(length) ? sparse.mode() : LlamaSession.DENSE;
    }

    /** This plan with every prompt sparse (threshold 0), for timing a mode at lengths below its threshold. */
    public AttentionPlan alwaysSparse() {
        return sparse == null ? this : new AttentionPlan(sparse.withThreshold(0));
    }

    @Override
    public String toString() {
        return sparse == null ? "dense" : sparse.mode() + " (" + sparse.source() + ", from " + sparse.threshold()
                + " tokens)";
    }
}
