package io.minference.llama.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Builds the tokenizer through fromVocabulary, from lists extracted from a tokenizer.json as GGUF holds them. */
final class TokenizerJsonLists {
    private TokenizerJsonLists() {
    }

    static BpeTokenizer toTokenizer(Path json, int bos, int eos) throws IOException {
        JsonNode root = new ObjectMapper().readTree(json.toFile());
        JsonNode vocab = root.get("model").get("vocab");
        JsonNode added = root.get("added_tokens");
        int size = 0;
        for (var e : vocab.properties()) size = Math.max(size, e.getValue().asInt() + 1);
        for (JsonNode t : added) size = Math.max(size, t.get("id").asInt() + 1);
        String[] tokens = new String[size];
        int[] types = new int[size];
        Arrays.fill(types, 1);
        for (var e : vocab.properties()) tokens[e.getValue().asInt()] = e.getKey();
        for (JsonNode t : added) {
            tokens[t.get("id").asInt()] = t.get("content").asText();
            types[t.get("id").asInt()] = 3;
        }
        List<String> merges = new ArrayList<>();
        for (JsonNode m : root.get("model").get("merges")) {
            merges.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText());
        }
        return BpeTokenizer.fromVocabulary(Arrays.asList(tokens), merges, types, bos, eos);
    }
}
