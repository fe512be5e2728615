package io.minference.config;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The valid range of each setting, shared by the configuration file and the command-line flags so that both refuse
 * the same values with the same words. Each method returns the problem, or empty when the value is fine.
 */
public final class Limits {
    public static final int MAX_BLOCK_SIZE = 4096;
    private static final Pattern DEVICE = Pattern.compile("auto|cpu|cuda|cuda:\\d{1,4}");

    private Limits() {
    }

    public static Optional<String> maxTokens(long value) {
        return value >= 1 && value <= Integer.MAX_VALUE ? Optional.empty()
                : Optional.of("must be an integer from 1 to " + Integer.MAX_VALUE + ", got " + value);
    }

    public static Optional<String> temperature(double value) {
        return value >= 0 && Double.isFinite(value) ? Optional.empty()
                : Optional.of("must be a finite number >= 0 (0 is greedy), got " + value);
    }

    public static Optional<String> topP(double value) {
        return value > 0 && value <= 1 ? Optional.empty()
                : Optional.of("must be a number in (0, 1] (1 disables nucleus sampling), got " + value);
    }

    public static Optional<String> blockSize(long value) {
        return value >= 1 && value <= MAX_BLOCK_SIZE && Long.bitCount(value) == 1 ? Optional.empty()
                : Optional.of("must be a power of two from 1 to " + MAX_BLOCK_SIZE + ", got " + value);
    }

    public static Optional<String> sparseThreshold(long value) {
        return value >= 0 && value <= Integer.MAX_VALUE ? Optional.empty()
                : Optional.of("must be a whole number of tokens from 0 (every prompt sparse) to " + Integer.MAX_VALUE
                + ", got " + value);
    }

    public static Optional<String> attention(String value) {
        return AttentionMode.byLabel(value).isPresent() ? Optional.empty()
                : Optional.of(AttentionMode.problem(value));
    }

    public static Optional<String> kvCache(String value) {
        return KvCacheType.byLabel(value).isPresent() ? Optional.empty()
                : Optional.of("must be one of " + KvCacheType.labels() + ", got '" + value + "'");
    }

    public static Optional<String> kvOffload(String value) {
        return KvOffload.byLabel(value).isPresent() ? Optional.empty()
                : Optional.of("must be one of " + KvOffload.labels() + ", got '" + value + "'");
    }

    /** The problem with a pattern file given in {@code mode}, or empty: only minference reads one. */
    public static Optional<String> patternsIn(AttentionMode mode) {
        return mode == AttentionMode.MINFERENCE ? Optional.empty()
                : Optional.of("a pattern file is read only with attention minference, not " + mode.label());
    }

    /**
     * The problem with a mass budget in {@code mode}, or empty: it replaces the default budgets of vertical-slash
     * and block-sparse heads, which a-shape, dense and a pattern file (whose heads carry their own) do not have.
     */
    public static Optional<String> budgetIn(AttentionMode mode, boolean withPatterns) {
        if (withPatterns) return Optional.of("a budget cannot be combined with a pattern file, whose heads carry their own");
        return switch (mode) {
            case MINFERENCE, VERTICAL_SLASH, BLOCK_SPARSE -> Optional.empty();
            case DENSE, A_SHAPE -> Optional.of("a budget applies to minference, vertical-slash and block-sparse, not "
                    + mode.label());
        };
    }

    /** A budget written {@code mass:γ}: the fraction of the estimated attention mass to keep. */
    public static Optional<String> budget(String value) {
        return parseBudget(value).isPresent() ? Optional.empty()
                : Optional.of("must be mass:γ with γ in (0, 1], e.g. mass:0.95, got '" + value + "'");
    }

    /** γ of a {@code mass:γ} budget, or empty when the text is not a valid one. */
    public static Optional<Double> parseBudget(String value) {
        String t = value.strip();
        if (!t.regionMatches(true, 0, "mass:", 0, 5)) return Optional.empty();
        try {
            double gamma = Double.parseDouble(t.substring(5));
            return massFraction(gamma).isPresent() ? Optional.empty() : Optional.of(gamma);
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    static Optional<String> massFraction(double gamma) {
        return gamma > 0 && gamma <= 1 ? Optional.empty()
                : Optional.of("must be a mass fraction in (0, 1], got " + gamma);
    }

    public static Optional<String> device(String value) {
        return DEVICE.matcher(value).matches() ? Optional.empty()
                : Optional.of("must be auto, cpu, cuda or cuda:N, got '" + value + "'");
    }
}
