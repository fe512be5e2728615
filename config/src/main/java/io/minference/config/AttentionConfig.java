package io.minference.config;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How prompts are attended during prefill.
 *
 * @param mode            dense, or one of the sparse modes
 * @param patterns        a pattern file (the project's YAML or MInference's JSON) for {@code minference}, or null
 * @param sparseThreshold prompts of at least this many tokens take the sparse path; 0 makes every prompt sparse
 * @param massBudget      γ of a cumulative-mass budget ({@code budget: mass:γ}) replacing the default top-k budgets,
 *                        or null
 */
public record AttentionConfig(AttentionMode mode, Path patterns, int sparseThreshold, Double massBudget) {
    /**
     * The measured crossover on an H200 (BENCHMARKS.md, "Sparse prefill, issue 10"): one sparse layer with
     * MInference's LLaMA-3-8B patterns, estimation included, is 0.23-0.46x of dense at 8K and 0.79-0.89x at 16K,
     * and 1.01-1.92x at 32K; below 32K the estimation alone costs 30-150 % of a dense layer.
     */
    public static final int DEFAULT_SPARSE_THRESHOLD = 32768;
    public static final AttentionConfig DEFAULTS =
            new AttentionConfig(AttentionMode.DENSE, null, DEFAULT_SPARSE_THRESHOLD, null);

    public AttentionConfig {
        Objects.requireNonNull(mode, "mode");
        Limits.sparseThreshold(sparseThreshold).ifPresent(p -> {
            throw new IllegalArgumentException("sparse_threshold " + p);
        });
        if (patterns != null) Limits.patternsIn(mode).ifPresent(AttentionConfig::invalid);
        if (massBudget != null) {
            Limits.massFraction(massBudget).ifPresent(p -> invalid("budget " + p));
            Limits.budgetIn(mode, patterns != null).ifPresent(AttentionConfig::invalid);
        }
    }

    private static void invalid(String problem) {
        throw new IllegalArgumentException(problem);
    }
}
