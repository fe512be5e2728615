package io.minference.llama.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** BpeTokenizer.fromVocabulary on a hand-made vocabulary, as GGUF metadata would give it. */
class FromVocabularyTest {
    private static final int NORMAL = 1;
    private static final int CONTROL = 3;
    private static final int USER_DEFINED = 4;

    /** The 256 byte-level characters, then merged tokens and added tokens. */
    private static List<String> tokens(String... more) {
        List<String> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) tokens.add(String.valueOf(ByteLevelAlphabet.charOf((byte) b)));
        tokens.addAll(List.of(more));
        return tokens;
    }

    private static int[] types(List<String> tokens, int... addedTypes) {
        int[] types = new int[tokens.size()];
        Arrays.fill(types, NORMAL);
        for (int i = 0; i < addedTypes.length; i++) types[tokens.size() - addedTypes.length + i] = addedTypes[i];
        return types;
    }

    @Test
    void mergesByRankAndSplitsOnControlAndUserDefinedTokens() {
        // 256 "lo", 257 "low", 258 "Ġlow", 259 "<|eot|>" (control), 260 "[X]" (user-defined)
        List<String> tokens = tokens("lo", "low", "Ġlow", "<|eot|>", "[X]");
        var tokenizer = BpeTokenizer.fromVocabulary(tokens, List.of("l o", "lo w", "Ġ low"),
                types(tokens, CONTROL, USER_DEFINED), 259, 259);
        // "low" and " low" are whole tokens; " lowlo" is not and goes through the merges: Ġ l o w l o -> Ġ lo w lo
        // (rank 0, leftmost first) -> Ġ low lo (rank 1) -> Ġlow lo (rank 2).
        String text = "low lowlo<|eot|>[X]l";
        assertArrayEquals(new int[] {257, 258, 256, 259, 260, 'l'}, tokenizer.encode(text));
        assertEquals(text, tokenizer.decode(tokenizer.encode(text)));
        assertEquals(261, tokenizer.vocabSize());
    }

    @Test
    void withoutTokenTypesNothingIsAdded() {
        List<String> tokens = tokens("<|eot|>");
        var tokenizer = BpeTokenizer.fromVocabulary(tokens, List.of(), null, 256, 256);
        assertEquals(7, tokenizer.encode("<|eot|>").length);
    }

    @Test
    void inconsistentMetadataIsRejected() {
        List<String> tokens = tokens("lo");
        var e = assertThrows(IllegalArgumentException.class,
                () -> BpeTokenizer.fromVocabulary(tokens, List.of("l o"), new int[3], 0, 0));
        assertTrue(e.getMessage().contains("3 token types for 257 tokens"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BpeTokenizer.fromVocabulary(tokens, List.of("lo"), null, 0, 0));
        assertTrue(e.getMessage().contains("merge \"lo\""), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BpeTokenizer.fromVocabulary(tokens, List.of("lo lo"), null, 0, 0));
        assertTrue(e.getMessage().contains("not in the vocabulary"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BpeTokenizer.fromVocabulary(tokens, List.of(), null, 0, 257));
        assertTrue(e.getMessage().contains("EOS id 257"), e.getMessage());
    }
}
