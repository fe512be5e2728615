package io.minference.sparse.pattern;

import io.minference.sparse.HeadPattern;
import io.minference.sparse.cpu.LayerInputs;
import java.util.Map;

/**
 * A sparse attention pattern, registered by {@link #name()} in a {@link PatternRegistry}. Implementations are
 * stateless and thread-safe: the CPU prefill estimates the heads of a layer in parallel.
 *
 * <p>A pattern works in two steps so that index memory can be sized before it is filled: {@link #estimate} reads the
 * prompt and returns the head's selection ({@link HeadIndex}: what it needs and how to write it), then the caller
 * allocates one {@link io.minference.sparse.SparseIndex} for a batch of heads, as large as the largest head needs,
 * and has every head write its slot.
 */
public interface SparsePattern {
    /** The name plans and pattern files use (lower case, e.g. "vertical-slash"). */
    String name();

    /**
     * Reads the pattern's parameters from text (a pattern file's entries): the built-in patterns return their own
     * record, others usually a validated {@link HeadPattern.Custom}. Unknown or malformed parameters throw
     * {@link IllegalArgumentException} naming them.
     */
    HeadPattern parse(Map<String, String> parameters);

    /** The parameters of {@code pattern} as text, such that {@code parse(parameters(p))} equals p. */
    Map<String, String> parameters(HeadPattern pattern);

    /**
     * An upper bound on the ranges and columns one query block of a head can need under {@code pattern} for any
     * prompt of {@code length} tokens (what a device builder allocates before it estimates).
     */
    IndexCapacity capacity(HeadPattern pattern, int length);

    /** Estimates head {@code head}'s keys from the prompt (CPU reference). */
    HeadIndex estimate(HeadPattern pattern, LayerInputs inputs, int head);

    /** Casts {@code pattern} to the record this pattern expects, or says clearly that it got another. */
    static <P extends HeadPattern> P expect(Class<P> type, HeadPattern pattern, String name) {
        if (!type.isInstance(pattern)) {
            throw new IllegalArgumentException("pattern '" + name + "' cannot read " + pattern);
        }
        return type.cast(pattern);
    }
}
