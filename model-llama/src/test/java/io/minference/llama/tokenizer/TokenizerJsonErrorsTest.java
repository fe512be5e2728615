package io.minference.llama.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Malformed tokenizer.json files get errors that name the file and the problem. */
class TokenizerJsonErrorsTest {
    private static final String LLAMA3_PRE_TOKENIZER = """
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+"},
               "behavior": "Isolated", "invert": false},
              {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}""";

    @TempDir
    Path temp;

    @Test
    void aSmallHandMadeFileWorks() throws IOException {
        Path file = write("""
                {"added_tokens": [{"id": 5, "content": "<|begin_of_text|>", "special": true},
                                  {"id": 6, "content": "<|end_of_text|>", "special": true}],
                 %s,
                 "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3, "Ġab": 4},
                           "merges": [["a", "b"], "Ġ ab"]}}""".formatted(LLAMA3_PRE_TOKENIZER));
        BpeTokenizer tokenizer = BpeTokenizer.fromTokenizerJson(file);
        assertEquals(7, tokenizer.vocabSize());
        assertEquals(5, tokenizer.bos());
        assertEquals(6, tokenizer.eos());
        assertArrayEquals(new int[] {2, 4, 6}, tokenizer.encode("ab ab<|end_of_text|>"));
    }

    @Test
    void missingModelSection() throws IOException {
        Path file = write("{\"added_tokens\": [], " + LLAMA3_PRE_TOKENIZER + "}");
        assertRejected(file, "no \"model\" section");
    }

    @Test
    void notJson() throws IOException {
        assertRejected(write("{\"model\": {\"vocab\": "), "not a valid tokenizer.json");
    }

    @Test
    void otherPreTokenizer() throws IOException {
        Path file = write("""
                {"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
                 "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}""");
        assertRejected(file, "unsupported pre-tokenizer");
    }

    @Test
    void otherModelType() throws IOException {
        assertRejected(write("{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}"), "Unigram");
    }

    @Test
    void mergeOfUnknownTokens() throws IOException {
        Path file = write("""
                {"added_tokens": [{"id": 1, "content": "<s>"}, {"id": 2, "content": "</s>"}],
                 %s, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}"""
                .formatted(LLAMA3_PRE_TOKENIZER));
        assertRejected(file, "merge 1");
    }

    @Test
    void noBosOrEos() throws IOException {
        Path file = write("""
                {%s, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}""".formatted(LLAMA3_PRE_TOKENIZER));
        assertRejected(file, "no BOS or EOS");
        assertEquals(1, BpeTokenizer.fromTokenizerJson(file, 0, 0).vocabSize());
    }

    @Test
    void negativeId() throws IOException {
        Path file = write("""
                {%s, "model": {"type": "BPE", "vocab": {"a": -4}, "merges": []}}""".formatted(LLAMA3_PRE_TOKENIZER));
        assertRejected(file, "impossible id -4");
    }

    @Test
    void missingFile() {
        Path file = temp.resolve("absent.json");
        var e = assertThrows(RuntimeException.class, () -> BpeTokenizer.fromTokenizerJson(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    private Path write(String json) throws IOException {
        return Files.writeString(temp.resolve("tokenizer.json"), json);
    }

    private static void assertRejected(Path file, String problem) {
        var e = assertThrows(IllegalArgumentException.class, () -> BpeTokenizer.fromTokenizerJson(file));
        assertTrue(e.getMessage().startsWith(file.toString()) && e.getMessage().contains(problem), e.getMessage());
    }
}
