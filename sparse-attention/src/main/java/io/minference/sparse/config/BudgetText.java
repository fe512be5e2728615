package io.minference.sparse.config;

import io.minference.sparse.Budget;
import java.util.Locale;
import java.util.Optional;

/**
 * A budget written as text, the same in pattern files and on the command line: a whole number {@code N} keeps the
 * top N, {@code mass:γ} keeps entries until their estimated attention mass reaches the fraction γ in (0, 1].
 */
public final class BudgetText {
    private BudgetText() {
    }

    /** The budget, or a problem in words (for the caller to place: a file and key, or a flag). */
    public static Budget parse(String text) {
        String t = text.strip();
        if (t.regionMatches(true, 0, "mass:", 0, 5)) {
            double gamma;
            try {
                gamma = Double.parseDouble(t.substring(5));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + text + "' is not a mass budget: write mass:γ with γ in (0, 1],"
                        + " e.g. mass:0.95");
            }
            if (!(gamma > 0 && gamma <= 1)) {
                throw new IllegalArgumentException("the mass fraction of '" + text + "' must lie in (0, 1]");
            }
            return Budget.mass(gamma);
        }
        if (!t.matches("-?\\d{1,10}")) {
            throw new IllegalArgumentException("'" + text + "' is not a budget: write a whole number (top-k) or"
                    + " mass:γ with γ in (0, 1]");
        }
        long count = Long.parseLong(t);
        if (count < 0) throw new IllegalArgumentException("a budget cannot be negative, got " + count);
        if (count > Integer.MAX_VALUE) throw new IllegalArgumentException("budget " + count + " is too large");
        return Budget.topK((int) count);
    }

    /** The problem with {@code text} as a budget, or empty when it is one. */
    public static Optional<String> problem(String text) {
        try {
            parse(text);
            return Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.of(e.getMessage());
        }
    }

    /** The text form: an integer for top-k (as a YAML integer), mass:γ for a mass budget. */
    public static Object format(Budget budget) {
        return switch (budget) {
            case Budget.TopK k -> k.count();
            case Budget.Mass m -> "mass:" + String.format(Locale.ROOT, "%s", m.gamma());
        };
    }
}
