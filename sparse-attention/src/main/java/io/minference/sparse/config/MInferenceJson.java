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
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import io.minference.sparse.PatternPlan;

/**
 * MInference's per-head configuration: a JSON list with one object per layer, mapping each head index (as a string)
 * to {@code [pattern, vertical_size, slash_size, score]}. The names map as {@code vertical_and_slash} →
 * vertical-slash (top-k vertical, top-k slash), {@code stream_llm} → A-shape (sink = vertical_size, local =
 * slash_size), {@code block_sparse} → block-sparse (top-k vertical_size blocks). The score (the search's recall
 * figure) is not used.
 */
final class MInferenceJson {
    static final List<String> NAMES = List.of("vertical_and_slash", "stream_llm", "block_sparse");

    private MInferenceJson() {
    }

    static PatternPlan parse(Path file, String text) {
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
        List<List<HeadPattern>> layers = new ArrayList<>();
        for (int l = 0; l < root.size(); l++) layers.add(layer(file, l, root.get(l)));
        if (layers.isEmpty()) throw new PatternFileException(file, "the list of layers is empty");
        return new PatternPlan(layers);
    }

    private static List<HeadPattern> layer(Path file, int layer, JsonNode node) {
        if (!node.isObject()) {
            throw new PatternFileException(file, "layer " + layer + " must be an object mapping head index to"
                    + " [pattern, vertical_size, slash_size, score]");
        }
        HeadPattern[] heads = new HeadPattern[node.size()];
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int head;
            try {
                head = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw new PatternFileException(file, "layer " + layer + ": head key '" + e.getKey()
                        + "' is not a head index");
            }
            if (head < 0 || head >= heads.length) {
                throw PatternFileException.at(file, layer, head, "is out of range: the layer lists " + heads.length
                        + " heads, so their indices run from 0 to " + (heads.length - 1));
            }
            try {
                heads[head] = head(e.getValue());
            } catch (IllegalArgumentException ex) {
                throw PatternFileException.at(file, layer, head, ex.getMessage());
            }
        }
        int missing = Arrays.asList(heads).indexOf(null);
        if (missing >= 0) throw PatternFileException.at(file, layer, missing, "is missing");
        return Arrays.asList(heads);
    }

    private static HeadPattern head(JsonNode entry) {
        if (!entry.isArray() || entry.size() < 3 || !entry.get(0).isTextual()) {
            throw new IllegalArgumentException("must be [pattern, vertical_size, slash_size, score], got " + entry);
        }
        String name = entry.get(0).asText();
        int vertical = size(entry.get(1), "vertical_size");
        int slash = size(entry.get(2), "slash_size");
        return switch (name) {
            case "vertical_and_slash" -> new HeadPattern.VerticalSlash(Budget.topK(vertical), Budget.topK(slash));
            case "stream_llm" -> {
                if (slash < 1) {
                    throw new IllegalArgumentException("stream_llm needs a local window (slash_size) >= 1, got "
                            + slash);
                }
                yield new HeadPattern.AShape(vertical, slash);
            }
            case "block_sparse" -> new HeadPattern.BlockSparse(Budget.topK(vertical));
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
