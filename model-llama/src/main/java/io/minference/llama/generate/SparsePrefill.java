package io.minference.llama.generate;

import io.minference.config.AttentionConfig;
import io.minference.llama.LlamaConfig;
import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.config.PatternFiles;
import io.minference.sparse.pattern.PatternRegistry;
import java.util.Objects;
import java.util.Set;

/**
 * How a {@link Generator} prefills long prompts: prompts of at least {@code threshold} tokens go through the
 * layer-major prefill with a sparse attention that follows {@code plan}; shorter prompts and every decode step stay
 * dense.
 *
 * @param mode      the attention mode's name (minference, a-shape, vertical-slash, block-sparse), for reports
 * @param plan      every head's pattern
 * @param threshold prompts of at least this many tokens are prefilled sparsely; 0 makes every prompt sparse
 * @param source    where the plan came from (a file, or a description of the default), for error messages
 */
public record SparsePrefill(String mode, PatternPlan plan, int threshold, String source) {
    /** A-shape heads when no pattern file says otherwise: sink and local window in tokens. */
    public static final HeadPattern.AShape DEFAULT_A_SHAPE = new HeadPattern.AShape(128, 4096);
    /** Block-sparse heads when no budget says otherwise: key blocks of 64 kept per query block. */
    public static final HeadPattern.BlockSparse DEFAULT_BLOCK_SPARSE = new HeadPattern.BlockSparse(Budget.topK(100));

    public SparsePrefill {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(plan, "plan");
        Objects.requireNonNull(source, "source");
        if (threshold < 0) throw new IllegalArgumentException("sparse threshold must be >= 0, got " + threshold);
    }

    /**
     * Names of the patterns a pattern file may use: the built-ins and those added through the SPI (found by
     * {@link PatternRegistry#standard()}).
     */
    public static Set<String> registeredPatterns() {
        return PatternRegistry.standard().names();
    }

    /** Whether a prompt of {@code length} tokens takes the sparse path. */
    public boolean appliesTo(int length) {
        return length >= threshold;
    }

    /** This prefill with another threshold (0 forces every prompt sparse). */
    public SparsePrefill withThreshold(int newThreshold) {
        return new SparsePrefill(mode, plan, newThreshold, source);
    }

    /**
     * The sparse prefill that {@code attention} asks for, checked against the model's layers and heads, or null for
     * dense attention. Without a pattern file, minference and vertical-slash give every head
     * {@link HeadPattern.VerticalSlash#DEFAULT} (clamped to the length by the pattern), or vertical and slash mass
     * budgets of γ when a budget is given; block-sparse {@link #DEFAULT_BLOCK_SPARSE} or a mass budget; a-shape
     * {@link #DEFAULT_A_SHAPE}.
     *
     * @param customPatterns names of SPI patterns a YAML pattern file may use besides the built-in ones
     */
    public static SparsePrefill of(AttentionConfig attention, LlamaConfig model, Set<String> customPatterns) {
        return of(attention, model.numLayers(), model.numHeads(), customPatterns);
    }

    /** As {@link #of(AttentionConfig, LlamaConfig, Set)} for {@code layers} layers of {@code heads} query heads. */
    public static SparsePrefill of(AttentionConfig attention, int layers, int heads, Set<String> customPatterns) {
        Double gamma = attention.massBudget();
        HeadPattern uniform = switch (attention.mode()) {
            case DENSE -> null;
            case MINFERENCE, VERTICAL_SLASH -> gamma == null ? HeadPattern.VerticalSlash.DEFAULT
                    : new HeadPattern.VerticalSlash(Budget.mass(gamma), Budget.mass(gamma));
            case A_SHAPE -> DEFAULT_A_SHAPE;
            case BLOCK_SPARSE -> gamma == null ? DEFAULT_BLOCK_SPARSE : new HeadPattern.BlockSparse(Budget.mass(gamma));
        };
        if (uniform == null) return null;
        String mode = attention.mode().label();
        if (attention.patterns() != null) {
            PatternPlan plan = PatternFiles.readFor(attention.patterns(), customPatterns, layers, heads);
            return new SparsePrefill(mode, plan, attention.sparseThreshold(), attention.patterns().toString());
        }
        return new SparsePrefill(mode, PatternPlan.uniform(layers, heads, uniform), attention.sparseThreshold(),
                "every head " + describe(uniform));
    }

    /** A pattern in a few words: vertical-slash 1000/6096, a-shape 128+4096, block-sparse mass:0.9. */
    public static String describe(HeadPattern pattern) {
        return switch (pattern) {
            case HeadPattern.VerticalSlash vs -> "vertical-slash " + budget(vs.vertical()) + "/" + budget(vs.slash());
            case HeadPattern.AShape a -> "a-shape " + a.sinkTokens() + "+" + a.localTokens();
            case HeadPattern.BlockSparse b -> "block-sparse " + budget(b.blocks());
            default -> pattern.name();
        };
    }

    private static String budget(Budget budget) {
        return switch (budget) {
            case Budget.TopK k -> Integer.toString(k.count());
            case Budget.Mass m -> "mass:" + m.gamma();
        };
    }
}
