package io.minference.llama.tokenizer;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the parts of a Hugging Face tokenizer.json that byte-level BPE needs. The model section is read with
 * Jackson's streaming parser, as building a tree of LLaMA-3's 128K tokens and 280K merges would take several times
 * longer; only the small pre-tokenizer and post-processor sections become trees.
 */
final class TokenizerJsonReader {
    /** Larger ids than this are taken for a corrupt file rather than a vocabulary to allocate. */
    private static final int MAX_TOKEN_ID = 16 * 1024 * 1024;

    private final Path file;
    private String[] vocab = new String[1024];
    private int vocabEnd;
    private final Map<Integer, String> added = new HashMap<>();
    private final List<BpeVocabulary.Merge> merges = new ArrayList<>();
    private boolean sawModel;
    private boolean ignoreMerges;
    private JsonNode preTokenizer;
    private JsonNode postProcessor;

    private TokenizerJsonReader(Path file) {
        this.file = file;
    }

    static BpeVocabulary read(Path file) {
        var reader = new TokenizerJsonReader(file);
        try (JsonParser parser = new ObjectMapper().createParser(file.toFile())) {
            reader.readTopLevel(parser);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": not a valid tokenizer.json: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        return reader.vocabulary();
    }

    private void readTopLevel(JsonParser p) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) throw error("the top level is not a JSON object");
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            switch (name) {
                case "added_tokens" -> readAddedTokens(p);
                case "model" -> readModel(p);
                case "pre_tokenizer" -> preTokenizer = p.readValueAsTree();
                case "post_processor" -> postProcessor = p.readValueAsTree();
                default -> p.skipChildren();
            }
        }
    }

    private void readAddedTokens(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) return;
        if (p.currentToken() != JsonToken.START_ARRAY) throw error("\"added_tokens\" is not an array");
        while (p.nextToken() == JsonToken.START_OBJECT) {
            int id = -1;
            String content = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                switch (name) {
                    case "id" -> id = p.getIntValue();
                    case "content" -> content = p.getText();
                    default -> p.skipChildren();
                }
            }
            if (content == null) throw error("an added token has no \"content\"");
            added.put(checkedId(id, content), content);
        }
    }

    private void readModel(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) throw error("\"model\" is not an object");
        sawModel = true;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            switch (name) {
                case "type" -> {
                    if (!"BPE".equals(p.getText())) {
                        throw error("model type " + p.getText() + " is not supported (only byte-level BPE is)");
                    }
                }
                case "vocab" -> readVocab(p);
                case "merges" -> readMerges(p);
                case "ignore_merges" -> ignoreMerges = p.getValueAsBoolean();
                default -> p.skipChildren();
            }
        }
    }

    private void readVocab(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) throw error("\"model.vocab\" is not an object");
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String token = p.currentName();
            if (p.nextToken() != JsonToken.VALUE_NUMBER_INT) throw error("the id of token " + token + " is not an integer");
            int id = checkedId(p.getIntValue(), token);
            if (id >= vocab.length) vocab = Arrays.copyOf(vocab, Math.max(id + 1, 2 * vocab.length));
            vocab[id] = token;
            vocabEnd = Math.max(vocabEnd, id + 1);
        }
    }

    private void readMerges(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) throw error("\"model.merges\" is not an array");
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            switch (t) {
                case VALUE_STRING -> merges.add(parseMerge(p.getText(), file.toString()));
                case START_ARRAY -> {
                    String left = p.nextToken() == JsonToken.VALUE_STRING ? p.getText() : null;
                    String right = p.nextToken() == JsonToken.VALUE_STRING ? p.getText() : null;
                    if (left == null || right == null || p.nextToken() != JsonToken.END_ARRAY) {
                        throw error("merge " + (merges.size() + 1) + " is not a pair of strings");
                    }
                    merges.add(new BpeVocabulary.Merge(left, right));
                }
                default -> throw error("merge " + (merges.size() + 1) + " is neither \"a b\" nor [a, b]");
            }
        }
    }

    /** Parses the "left right" form of a merge; byte-level tokens spell a space as Ġ, so one space separates them. */
    static BpeVocabulary.Merge parseMerge(String merge, String source) {
        int space = merge.indexOf(' ', 1);
        if (space < 0 || space == merge.length() - 1) {
            throw new IllegalArgumentException(source + ": merge \"" + merge + "\" is not two tokens separated by a space");
        }
        return new BpeVocabulary.Merge(merge.substring(0, space), merge.substring(space + 1));
    }

    private int checkedId(int id, String token) {
        if (id < 0 || id > MAX_TOKEN_ID) throw error("token " + token + " has the impossible id " + id);
        return id;
    }

    private BpeVocabulary vocabulary() {
        if (!sawModel) throw error("no \"model\" section (vocabulary and merges)");
        if (vocabEnd == 0) throw error("the model has no vocabulary");
        checkPreTokenizer();
        int size = Math.max(vocabEnd, 1 + added.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1));
        String[] tokens = Arrays.copyOf(vocab, size);
        boolean[] isAdded = new boolean[size];
        added.forEach((id, content) -> {
            tokens[id] = content;
            isAdded[id] = true;
        });
        int bos = addedId("<|begin_of_text|>", templateSpecialToken(true), addedId("<s>", -1, -1));
        int eos = addedId("<|end_of_text|>", templateSpecialToken(false), addedId("</s>", -1, -1));
        return new BpeVocabulary(file.toString(), tokens, isAdded, merges, ignoreMerges, bos, eos);
    }

    /**
     * Only LLaMA-3's split pattern is implemented; any other pre-tokenizer would silently give other tokens than
     * the model was trained on, so it is refused.
     */
    private void checkPreTokenizer() {
        boolean llama3 = preTokenizer != null && preTokenizer.findValues("Regex").stream()
                .anyMatch(regex -> regex.asText().equals(Llama3PreTokenizer.HF_PATTERN));
        if (!llama3) {
            throw error("unsupported pre-tokenizer (only LLaMA-3's split pattern is implemented): " + preTokenizer);
        }
    }

    private int addedId(String content, int otherwise, int lastResort) {
        for (var e : added.entrySet()) {
            if (e.getValue().equals(content)) return e.getKey();
        }
        return otherwise >= 0 ? otherwise : lastResort;
    }

    /** The special token a TemplateProcessing post-processor puts before (or after) a single sequence, or -1. */
    private int templateSpecialToken(boolean before) {
        JsonNode template = findTemplateProcessing(postProcessor);
        if (template == null) return -1;
        JsonNode single = template.path("single");
        int sequenceAt = -1;
        for (int i = 0; i < single.size(); i++) {
            if (single.get(i).has("Sequence")) sequenceAt = i;
        }
        if (sequenceAt < 0) return -1;
        int at = before ? sequenceAt - 1 : sequenceAt + 1;
        String name = single.path(at).path("SpecialToken").path("id").asText(null);
        if (name == null) return -1;
        JsonNode ids = template.path("special_tokens").path(name).path("ids");
        return ids.isArray() && ids.size() == 1 ? ids.get(0).asInt() : -1;
    }

    private static JsonNode findTemplateProcessing(JsonNode node) {
        if (node == null || node.isNull()) return null;
        if ("TemplateProcessing".equals(node.path("type").asText())) return node;
        for (JsonNode child : node.path("processors")) {
            JsonNode found = findTemplateProcessing(child);
            if (found != null) return found;
        }
        return null;
    }

    private IllegalArgumentException error(String problem) {
        return new IllegalArgumentException(file + ": " + problem);
    }
}
