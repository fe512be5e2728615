package io.minference.config;

import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.DoubleFunction;
import java.util.function.Function;
import java.util.function.LongFunction;

/**
 * One mapping of the YAML tree, read key by key. Every key read is remembered, so that once a section has been read
 * the keys nobody asked for can be reported as unknown, with the closest known key as a suggestion.
 */
final class Section {
    private final Path file;
    private final String path;
    private final Map<String, Object> values;
    private final Set<String> known = new LinkedHashSet<>();

    private Section(Path file, String path, Map<String, Object> values) {
        this.file = file;
        this.path = path;
        this.values = values;
    }

    static Section root(Path file, Object tree) {
        if (!(tree instanceof Map<?, ?> map)) {
            throw ConfigException.ofFile(file, "the top level must be a mapping of keys to values, got "
                    + describe(tree));
        }
        return new Section(file, "", keysAsStrings(file, "", map));
    }

    Path file() {
        return file;
    }

    Optional<Section> section(String key) {
        return value(key).map(v -> {
            if (!(v instanceof Map<?, ?> map)) throw wrongType(key, "a mapping of keys to values", v);
            return new Section(file, keyPath(key), keysAsStrings(file, keyPath(key), map));
        });
    }

    Optional<String> string(String key) {
        return string(key, v -> Optional.empty());
    }

    Optional<String> string(String key, Function<String, Optional<String>> check) {
        return value(key).map(v -> {
            if (!(v instanceof String s)) throw wrongType(key, "a string", v);
            if (s.isBlank()) throw ConfigException.atKey(file, keyPath(key), "must not be empty");
            check.apply(s).ifPresent(p -> { throw ConfigException.atKey(file, keyPath(key), p); });
            return s;
        });
    }

    Optional<Long> integer(String key) {
        return integer(key, v -> Optional.empty());
    }

    Optional<Long> integer(String key, LongFunction<Optional<String>> check) {
        return value(key).map(v -> {
            long n = switch (v) {
                case Integer i -> i;
                case Long l -> l;
                case BigInteger b -> throw ConfigException.atKey(file, keyPath(key), "is too large: " + b);
                default -> throw wrongType(key, "an integer", v);
            };
            check.apply(n).ifPresent(p -> { throw ConfigException.atKey(file, keyPath(key), p); });
            return n;
        });
    }

    Optional<Double> number(String key, DoubleFunction<Optional<String>> check) {
        return value(key).map(v -> {
            if (!(v instanceof Number n) || v instanceof BigInteger) throw wrongType(key, "a number", v);
            double d = n.doubleValue();
            check.apply(d).ifPresent(p -> { throw ConfigException.atKey(file, keyPath(key), p); });
            return d;
        });
    }

    Optional<Boolean> bool(String key) {
        return value(key).map(v -> {
            if (!(v instanceof Boolean b)) throw wrongType(key, "true or false", v);
            return b;
        });
    }

    /** Call after reading every key this section may hold. */
    void rejectUnknownKeys() {
        for (String key : values.keySet()) {
            if (known.contains(key)) continue;
            String hint = closest(key, known)
                    .map(k -> "; did you mean '" + k + "'?")
                    .orElse("; known keys here: " + String.join(", ", known));
            throw ConfigException.atKey(file, keyPath(key), "unknown key" + hint);
        }
    }

    private Optional<Object> value(String key) {
        known.add(key);
        if (!values.containsKey(key)) return Optional.empty();
        Object v = values.get(key);
        if (v == null) {
            throw ConfigException.atKey(file, keyPath(key), "has no value (remove the key to use the default)");
        }
        return Optional.of(v);
    }

    private ConfigException wrongType(String key, String expected, Object actual) {
        return ConfigException.atKey(file, keyPath(key), "must be " + expected + ", got " + describe(actual));
    }

    private String keyPath(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private static Map<String, Object> keysAsStrings(Path file, String path, Map<?, ?> map) {
        Map<String, Object> result = new LinkedHashMap<>();
        for (var entry : map.entrySet()) {
            if (!(entry.getKey() instanceof String key)) {
                String where = path.isEmpty() ? "top level" : path;
                throw ConfigException.atKey(file, where, "keys must be names, got " + describe(entry.getKey()));
            }
            result.put(key, entry.getValue());
        }
        return result;
    }

    static String describe(Object value) {
        return switch (value) {
            case null -> "nothing";
            case Map<?, ?> m -> "a mapping";
            case List<?> l -> "a list";
            case String s -> "the string '" + s + "'";
            case Boolean b -> "the boolean " + b;
            case Double d -> "the number " + d;
            case Number n -> "the integer " + n;
            default -> "a " + value.getClass().getSimpleName().toLowerCase() + " (" + value + ")";
        };
    }

    /** The known key nearest to {@code key} in edit distance, if it is near enough to be a typo. */
    static Optional<String> closest(String key, Set<String> candidates) {
        List<String> sorted = new ArrayList<>(candidates);
        sorted.sort(Comparator.comparingInt(c -> editDistance(key, c)));
        if (sorted.isEmpty()) return Optional.empty();
        String best = sorted.getFirst();
        int allowed = Math.max(2, Math.min(key.length(), best.length()) / 3);
        return editDistance(key, best) <= allowed ? Optional.of(best) : Optional.empty();
    }

    /** Levenshtein distance, ignoring case and treating '-' like '_' (max-tokens is a typo of max_tokens). */
    static int editDistance(String a, String b) {
        a = a.toLowerCase().replace('-', '_');
        b = b.toLowerCase().replace('-', '_');
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) previous[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
