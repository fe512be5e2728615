package io.minference.sparse.pattern;

import io.minference.sparse.Budget;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Reading and writing pattern parameters as text: counts, and budgets as "1000" (top-k) or "mass:0.9". */
public final class PatternParameters {
    private PatternParameters() {
    }

    /** Throws when {@code parameters} holds a name outside {@code allowed}. */
    public static void requireOnly(String pattern, Map<String, String> parameters, Set<String> allowed) {
        for (String key : parameters.keySet()) {
            if (!allowed.contains(key)) {
                throw new IllegalArgumentException("pattern '" + pattern + "' has no parameter '" + key
                        + "'; it takes " + String.join(", ", allowed.stream().sorted().toList()));
            }
        }
    }

    public static String required(String pattern, Map<String, String> parameters, String key) {
        String value = parameters.get(key);
        if (value == null) throw new IllegalArgumentException("pattern '" + pattern + "' needs parameter '" + key + "'");
        return value.trim();
    }

    public static int count(String pattern, String key, String text) {
        try {
            int value = Integer.parseInt(text.trim());
            if (value < 0) throw new IllegalArgumentException("pattern '" + pattern + "': " + key
                    + " cannot be negative, got " + value);
            return value;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("pattern '" + pattern + "': " + key + " must be a whole number, got '"
                    + text + "'");
        }
    }

    /** "N" is top-N, "mass:γ" a cumulative-mass budget with γ in (0, 1]. */
    public static Budget budget(String pattern, String key, String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.startsWith("mass:")) {
            try {
                return Budget.mass(Double.parseDouble(t.substring(5)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("pattern '" + pattern + "': " + key
                        + " must be a count or mass:γ, got '" + text + "'");
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("pattern '" + pattern + "': " + key + ": " + e.getMessage());
            }
        }
        return Budget.topK(count(pattern, key, t));
    }

    public static String format(Budget budget) {
        return switch (budget) {
            case Budget.TopK(int k) -> Integer.toString(k);
            case Budget.Mass(double gamma) -> "mass:" + gamma;
        };
    }
}
