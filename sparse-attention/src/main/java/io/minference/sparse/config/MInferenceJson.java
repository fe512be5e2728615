package io.minference.sparse.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import io.minference.sparse.PatternPlan;

/**
 * MInference's per-head configuration: a JSON list with one object per layer, mapping each head index (as a string)
 * to {@code [pattern, vertical_size, slash_size, score]}, read the way MInference's own prefill reads it
 * ({@code minference/modules/minference_forward.py}: {@code minference_prefill_kernel},
 * {@code init_minference_parameters}):
 * <ul>
 *   <li>{@code vertical_and_slash} → vertical-slash with top-k budgets, clamped to at least
 *       {@value #MIN_VERTICAL} columns and {@value #MIN_SLASH} diagonals (its
 *       {@code max(vertical_size, 30)}, {@code max(slash_size, 50)});</li>
 *   <li>{@code stream_llm} → A-shape with sink = vertical_size and local = slash_size
 *       ({@code streaming_forward(q, k, v, n_init, n_local)});</li>
 *   <li>{@code block_sparse} → block-sparse with the top {@value #BLOCK_SPARSE_BLOCKS} blocks, whatever the numbers
 *       say (its {@code block_sparse_kernel} ignores them);</li>
 *   <li>a head missing from its layer's object, or a layer past the end of the list, gets vertical_and_slash
 *       1000/6096 ({@link HeadPattern.VerticalSlash#DEFAULT}), and a warning names them.</li>
 * </ul>
 * The fourth number is the score of the search that wrote the file, unused by MInference's prefill and by ours: in
 * its {@code fit_o} files (the LLaMA-3-8B sample among them) the count of the head's output elements that differ
 * from dense attention by more than 5e-3 on the search's calibration prompt ({@code search_pattern_v2}), in older
 * files an attention-mass recall.
 */
final class MInferenceJson {
    static final List<String> NAMES = List.of("vertical_and_slash", "stream_llm", "block_sparse");
    static final int MIN_VERTICAL = 30;
    static final int MIN_SLASH = 50;
    static final int BLOCK_SPARSE_BLOCKS = 100;
    /** Far beyond any model's head count; a larger index is a broken file, not a wide model. */
    private static final int MAX_HEAD_INDEX = 4095;

    private MInferenceJson() {
    }

    /**
     * The file's plan with {@code numLayers} layers of {@code numHeads} heads, or, where those are absent (-1), as
     * many layers as the list has and as many heads as the highest head index anywhere asks for. Heads and layers the
     * file leaves out get the default, each reported through {@code warnings}; heads or layers beyond the counts are
     * kept, for {@link PatternPlan#requireShape} to refuse.
     */
    static PatternPlan parse(Path file, String text, int numLayers, int numHeads, Consumer<String> warnings) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(text);
        } catch (JacksonException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : "line " + at.getLineNr() + ", column " + at.getColumnNr() + ": ";
            throw new PatternFileException(file, where + "malformed JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isArray()) {
            throw new PatternFileException(file, "an MInference pattern file is a JSON list with one object per"
                    + " layer, got " + (root == null ? "nothing" : root.getNodeType().toString().toLowerCase()));
        }
        if (root.isEmpty()) throw new PatternFileException(file, "the list of layers is empty");
        List<Map<Integer, HeadPattern>> listed = new ArrayList<>();
        for (int l = 0; l < root.size(); l++) listed.add(layer(file, l, root.get(l)));
        int heads = numHeads >= 0 ? numHeads
                : listed.stream().flatMap(m -> m.keySet().stream()).mapToInt(h -> h + 1).max().orElse(0);
        int layerCount = Math.max(listed.size(), numLayers);
        List<List<HeadPattern>> layers = new ArrayList<>();
        List<String> defaulted = new ArrayList<>();
        for (int l = 0; l < layerCount; l++) {
            Map<Integer, HeadPattern> given = l < listed.size() ? listed.get(l) : Map.of();
            int size = Math.max(heads, given.keySet().stream().mapToInt(h -> h + 1).max().orElse(0));
            List<HeadPattern> layer = new ArrayList<>();
            List<Integer> missing = new ArrayList<>();
            for (int h = 0; h < size; h++) {
                HeadPattern p = given.get(h);
                if (p == null) missing.add(h);
                layer.add(p == null ? HeadPattern.VerticalSlash.DEFAULT : p);
            }
            if (l >= listed.size()) defaulted.add("layer " + l);
            else if (!missing.isEmpty()) defaulted.add("layer " + l + " heads " + ranges(missing));
            layers.add(layer);
        }
        if (!defaulted.isEmpty()) {
            warnings.accept(file + ": not listed, so vertical_and_slash 1000/6096 as MInference gives them: "
                    + String.join("; ", defaulted));
        }
        return new PatternPlan(layers);
    }

    private static Map<Integer, HeadPattern> layer(Path file, int layer, JsonNode node) {
        if (!node.isObject()) {
            throw new PatternFileException(file, "layer " + layer + " must be an object mapping head index to"
                    + " [pattern, vertical_size, slash_size, score]");
        }
        Map<Integer, HeadPattern> heads = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int head;
            try {
                head = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw new PatternFileException(file, "layer " + layer + ": head key '" + e.getKey()
                        + "' is not a head index");
            }
            if (head < 0 || head > MAX_HEAD_INDEX) {
                throw PatternFileException.at(file, layer, head, "is out of range: head indices run from 0 to "
                        + MAX_HEAD_INDEX);
            }
            try {
                heads.put(head, head(e.getValue()));
            } catch (IllegalArgumentException ex) {
                throw PatternFileException.at(file, layer, head, ex.getMessage());
            }
        }
        return heads;
    }

    /** "0-3, 7" for 0, 1, 2, 3, 7. */
    static String ranges(List<Integer> sorted) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < sorted.size(); ) {
            int j = i;
            while (j + 1 < sorted.size() && sorted.get(j + 1) == sorted.get(j) + 1) j++;
            if (!out.isEmpty()) out.append(", ");
            out.append(sorted.get(i));
            if (j > i) out.append('-').append(sorted.get(j));
            i = j + 1;
        }
        return out.toString();
    }

    private static HeadPattern head(JsonNode entry) {
        if (!entry.isArray() || entry.size() < 3 || !entry.get(0).isTextual()) {
            throw new IllegalArgumentException("must be [pattern, vertical_size, slash_size, score], got " + entry);
        }
        String name = entry.get(0).asText();
        int vertical = size(entry.get(1), "vertical_size");
        int slash = size(entry.get(2), "slash_size");
        return switch (name) {
            case "vertical_and_slash" -> new HeadPattern.VerticalSlash(Budget.topK(Math.max(vertical, MIN_VERTICAL)),
                    Budget.topK(Math.max(slash, MIN_SLASH)));
            case "stream_llm" -> {
                if (slash < 1) {
                    throw new IllegalArgumentException("stream_llm needs a local window (slash_size) >= 1, got "
                            + slash);
                }
                yield new HeadPattern.AShape(vertical, slash);
            }
            case "block_sparse" -> new HeadPattern.BlockSparse(Budget.topK(BLOCK_SPARSE_BLOCKS));
            default -> throw new IllegalArgumentException("unknown pattern '" + name + "' (MInference's names: "
                    + String.join(", ", NAMES) + ")");
        };
    }

    private static int size(JsonNode node, String what) {
        if (!node.isIntegralNumber() && !(node.isNumber() && node.asDouble() == Math.rint(node.asDouble()))) {
            throw new IllegalArgumentException(what + " must be a whole number, got " + node);
        }
        // Exact, not asLong(): 2^64 + 1 would wrap around to a budget of 1.
        BigDecimal v = node.decimalValue();
        if (v.signum() < 0) throw new IllegalArgumentException(what + " cannot be negative, got " + node);
        if (v.compareTo(BigDecimal.valueOf(Integer.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException(what + " is too large: " + node + " (at most " + Integer.MAX_VALUE + ")");
        }
        return v.intValueExact();
    }
}
