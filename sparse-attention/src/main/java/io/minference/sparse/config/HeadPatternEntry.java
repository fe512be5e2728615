package io.minference.sparse.config;

import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One head's entry of a YAML pattern file, a mapping such as {@code {pattern: vertical-slash, vertical: 1000,
 * slash: 6096}}, to and from a {@link HeadPattern}. Parameters: dense none; a-shape {@code sink}, {@code local}
 * (tokens); vertical-slash {@code vertical}, {@code slash}; block-sparse {@code blocks} (budgets: a whole number for
 * top-k or {@code mass:γ}). Another name is a pattern added through the SPI: allowed when the reader was told it,
 * its parameters kept as text.
 */
final class HeadPatternEntry {
    static final List<String> BUILT_IN = List.of("dense", "a-shape", "vertical-slash", "block-sparse");

    private HeadPatternEntry() {
    }

    /** Throws IllegalArgumentException with the problem in words; the caller adds the file, layer and head. */
    static HeadPattern parse(Object entry, Set<String> customPatterns) {
        if (!(entry instanceof Map<?, ?> raw)) {
            throw new IllegalArgumentException("must be a mapping such as {pattern: vertical-slash, vertical: 1000,"
                    + " slash: 6096}, got " + describe(entry));
        }
        Map<String, Object> map = new LinkedHashMap<>();
        raw.forEach((k, v) -> map.put(String.valueOf(k), v));
        Object name = map.remove("pattern");
        if (name == null) throw new IllegalArgumentException("has no 'pattern' key");
        if (!(name instanceof String pattern)) {
            throw new IllegalArgumentException("pattern must be a name, got " + describe(name));
        }
        HeadPattern result = switch (pattern) {
            case "dense" -> new HeadPattern.Dense();
            case "a-shape" -> new HeadPattern.AShape(count(map, "sink", 0), count(map, "local", 1));
            case "vertical-slash" -> new HeadPattern.VerticalSlash(budget(map, "vertical"), budget(map, "slash"));
            case "block-sparse" -> new HeadPattern.BlockSparse(budget(map, "blocks"));
            default -> {
                if (!customPatterns.contains(pattern)) {
                    Set<String> known = new LinkedHashSet<>(BUILT_IN);
                    known.addAll(customPatterns);
                    throw new IllegalArgumentException("unknown pattern '" + pattern + "' (known: "
                            + String.join(", ", known) + ")");
                }
                Map<String, String> parameters = new LinkedHashMap<>();
                map.forEach((k, v) -> parameters.put(k, String.valueOf(v)));
                map.clear();
                yield new HeadPattern.Custom(pattern, parameters);
            }
        };
        if (!map.isEmpty()) {
            throw new IllegalArgumentException("unknown parameter" + (map.size() > 1 ? "s " : " ")
                    + String.join(", ", map.keySet()) + " for pattern " + pattern);
        }
        return result;
    }

    /** The entry's mapping, keys in the documented order. */
    static Map<String, Object> format(HeadPattern pattern) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("pattern", pattern.name());
        switch (pattern) {
            case HeadPattern.Dense d -> { }
            case HeadPattern.AShape a -> {
                map.put("sink", a.sinkTokens());
                map.put("local", a.localTokens());
            }
            case HeadPattern.VerticalSlash vs -> {
                map.put("vertical", BudgetText.format(vs.vertical()));
                map.put("slash", BudgetText.format(vs.slash()));
            }
            case HeadPattern.BlockSparse bs -> map.put("blocks", BudgetText.format(bs.blocks()));
            case HeadPattern.Custom c -> map.putAll(c.parameters());
        }
        return map;
    }

    private static int count(Map<String, Object> map, String key, int minimum) {
        Object v = map.remove(key);
        if (v == null) throw new IllegalArgumentException("has no '" + key + "' (tokens)");
        if (!(v instanceof Integer n)) {
            throw new IllegalArgumentException(key + " must be a whole number, got " + describe(v));
        }
        if (n < minimum) throw new IllegalArgumentException(key + " must be at least " + minimum + ", got " + n);
        return n;
    }

    private static Budget budget(Map<String, Object> map, String key) {
        Object v = map.remove(key);
        if (v == null) throw new IllegalArgumentException("has no '" + key + "' budget");
        if (!(v instanceof Integer) && !(v instanceof String)) {
            throw new IllegalArgumentException(key + " must be a whole number or mass:γ, got " + describe(v));
        }
        try {
            return BudgetText.parse(String.valueOf(v));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": " + e.getMessage());
        }
    }

    static String describe(Object value) {
        return switch (value) {
            case null -> "nothing";
            case Map<?, ?> m -> "a mapping";
            case List<?> l -> "a list";
            case String s -> "the string '" + s + "'";
            default -> value.toString();
        };
    }
}
