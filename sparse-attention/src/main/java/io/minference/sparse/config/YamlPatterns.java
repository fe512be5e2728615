package io.minference.sparse.config;

import io.minference.config.SafeYaml;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The project's pattern file: the model's shape, a default pattern, and the heads that differ from it.
 * <pre>
 * num_layers: 32
 * num_heads: 32
 * default: {pattern: vertical-slash, vertical: 1000, slash: 6096}
 * layers:
 *   22:
 *     5: {pattern: vertical-slash, vertical: 3500, slash: 100}
 *     7: {pattern: a-shape, sink: 64, local: 1024}
 * </pre>
 */
final class YamlPatterns {
    private static final Set<String> TOP_LEVEL = Set.of("num_layers", "num_heads", "default", "layers");
    /** Far above any model's (LLaMA-3 405B has 126 layers of 128 heads), far below what would exhaust memory. */
    static final int MAX_LAYERS = 1024;
    static final int MAX_HEADS = 1024;

    private YamlPatterns() {
    }

    static PatternPlan parse(Path file, String text, Set<String> customPatterns) {
        Object tree = load(file, text);
        if (!(tree instanceof Map<?, ?> root)) {
            throw new PatternFileException(file, "a pattern file is a mapping with num_layers, num_heads, default and"
                    + " layers, got " + HeadPatternEntry.describe(tree));
        }
        for (Object key : root.keySet()) {
            if (!TOP_LEVEL.contains(String.valueOf(key))) {
                throw new PatternFileException(file, "unknown key '" + key + "' (known: num_layers, num_heads,"
                        + " default, layers)");
            }
        }
        int numLayers = positive(file, root, "num_layers", MAX_LAYERS);
        int numHeads = positive(file, root, "num_heads", MAX_HEADS);
        HeadPattern fallback = null;
        if (root.get("default") != null) {
            try {
                fallback = HeadPatternEntry.parse(root.get("default"), customPatterns);
            } catch (IllegalArgumentException e) {
                throw new PatternFileException(file, "default: " + e.getMessage());
            }
        }
        List<List<HeadPattern>> layers = new ArrayList<>();
        for (int l = 0; l < numLayers; l++) layers.add(new ArrayList<>(Collections.nCopies(numHeads, fallback)));

        Object listed = root.get("layers");
        if (listed != null && !(listed instanceof Map<?, ?>)) {
            throw new PatternFileException(file, "layers must be a mapping of layer index to heads, got "
                    + HeadPatternEntry.describe(listed));
        }
        Map<?, ?> layerMap = listed == null ? Map.of() : (Map<?, ?>) listed;
        for (var layerEntry : layerMap.entrySet()) {
            int layer = index(file, layerEntry.getKey(), numLayers, "layer", "layers");
            if (!(layerEntry.getValue() instanceof Map<?, ?> heads)) {
                throw new PatternFileException(file, "layer " + layer + " must be a mapping of head index to pattern,"
                        + " got " + HeadPatternEntry.describe(layerEntry.getValue()));
            }
            for (var headEntry : heads.entrySet()) {
                int head = index(file, headEntry.getKey(), numHeads, "head", "layer " + layer + ": heads");
                try {
                    layers.get(layer).set(head, HeadPatternEntry.parse(headEntry.getValue(), customPatterns));
                } catch (IllegalArgumentException e) {
                    throw PatternFileException.at(file, layer, head, e.getMessage());
                }
            }
        }
        for (int l = 0; l < numLayers; l++) {
            int head = layers.get(l).indexOf(null);
            if (head >= 0) {
                throw PatternFileException.at(file, l, head, "has no pattern, and the file has no default");
            }
        }
        return new PatternPlan(layers);
    }

    /** The plan with its most common pattern as the default and every other head listed. */
    static String format(PatternPlan plan, String comment) {
        if (plan.numLayers() == 0 || plan.layers().getFirst().isEmpty()) {
            throw new IllegalArgumentException("a pattern file needs at least one layer and one head");
        }
        int numHeads = plan.layers().getFirst().size();
        plan.requireShape(plan.numLayers(), numHeads, "the plan to write");
        HeadPattern fallback = mostCommon(plan);
        StringBuilder out = new StringBuilder();
        if (comment != null) comment.lines().forEach(line -> out.append("# ").append(line).append('\n'));
        out.append("num_layers: ").append(plan.numLayers()).append('\n');
        out.append("num_heads: ").append(numHeads).append('\n');
        out.append("default: ").append(flow(fallback)).append('\n');
        StringBuilder layers = new StringBuilder();
        for (int l = 0; l < plan.numLayers(); l++) {
            StringBuilder heads = new StringBuilder();
            for (int h = 0; h < numHeads; h++) {
                HeadPattern p = plan.pattern(l, h);
                if (!p.equals(fallback)) heads.append("    ").append(h).append(": ").append(flow(p)).append('\n');
            }
            if (!heads.isEmpty()) layers.append("  ").append(l).append(":\n").append(heads);
        }
        if (!layers.isEmpty()) out.append("layers:\n").append(layers);
        return out.toString();
    }

    private static HeadPattern mostCommon(PatternPlan plan) {
        Map<HeadPattern, Integer> counts = new LinkedHashMap<>();
        for (List<HeadPattern> heads : plan.layers()) for (HeadPattern p : heads) counts.merge(p, 1, Integer::sum);
        HeadPattern best = null;
        for (var e : counts.entrySet()) if (best == null || e.getValue() > counts.get(best)) best = e.getKey();
        return best;
    }

    private static String flow(HeadPattern pattern) {
        return HeadPatternEntry.format(pattern).entrySet().stream()
                .map(e -> e.getKey() + ": " + scalar(e.getKey(), e.getValue()))
                .collect(Collectors.joining(", ", "{", "}"));
    }

    /** Numbers plain; names plain; any other text single-quoted, so that mass:0.9 stays one scalar. */
    private static String scalar(String key, Object value) {
        if (value instanceof Integer) return value.toString();
        String s = value.toString();
        if (key.equals("pattern") && s.matches("[a-z][a-z0-9-]*")) return s;
        return "'" + s.replace("'", "''") + "'";
    }

    private static Object load(Path file, String text) {
        try {
            return SafeYaml.load(text);
        } catch (SafeYaml.Problem p) {
            throw new PatternFileException(file, p.describe(), p);
        }
    }

    private static int positive(Path file, Map<?, ?> root, String key, int max) {
        Object v = root.get(key);
        if (v == null) {
            throw new PatternFileException(file, "has no " + key + " (the model's count, which the file must match)");
        }
        if (!(v instanceof Integer n) || n < 1) {
            throw new PatternFileException(file, key + " must be a whole number of at least 1, got "
                    + HeadPatternEntry.describe(v));
        }
        if (n > max) {
            throw new PatternFileException(file, key + " is " + n + "; a pattern file may declare at most " + max
                    + " (no model has more)");
        }
        return n;
    }

    private static int index(Path file, Object key, int count, String what, String where) {
        if (!(key instanceof Integer i)) {
            throw new PatternFileException(file, where + ": " + what + " index must be a whole number, got "
                    + HeadPatternEntry.describe(key));
        }
        if (i < 0 || i >= count) {
            throw new PatternFileException(file, where + ": " + what + " " + i + " is out of range: the file declares "
                    + count + " " + what + "s (0 to " + (count - 1) + ")");
        }
        return i;
    }
}
