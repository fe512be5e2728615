package io.minference.llama.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The tiny pass-key model's 4,096-token byte-level BPE (BOS 0, EOS 1, no chat tokens). Expected ids come from
 * @lenml/tokenizers 3.7.2 run on the same tokenizer.json.
 */
class TinyPasskeyTokenizerTest {
    private static Path file;
    private static BpeTokenizer tokenizer;

    @BeforeAll
    static void load() {
        file = TestFiles.require("models/tiny-passkey-llama-tokenizer.json");
        tokenizer = BpeTokenizer.fromTokenizerJson(file);
    }

    @Test
    void encodesLikeTheReference() {
        assertEquals(4096, tokenizer.vocabSize());
        assertEquals(0, tokenizer.bos());
        assertEquals(1, tokenizer.eos());
        assertArrayEquals(new int[] {36, 472, 483, 2330, 4046, 66, 773, 15}, tokenizer.encode("Call me Ishmael."));
        assertArrayEquals(new int[] {0, 41, 74, 29, 93, 70, 330, 64, 338, 93, 31},
                tokenizer.encode("<|begin_of_text|>Hi<|eot_id|>"));
        assertEquals("Call me Ishmael.", tokenizer.decode(tokenizer.encode("Call me Ishmael.")));
    }

    @Test
    void explicitBosAndEos() {
        BpeTokenizer custom = BpeTokenizer.fromTokenizerJson(file, 1, 0);
        assertEquals(1, custom.bos());
        assertEquals(0, custom.eos());
        assertTrue(custom.isStopToken(0));
        var e = assertThrows(IllegalArgumentException.class, () -> BpeTokenizer.fromTokenizerJson(file, 0, 4096));
        assertTrue(e.getMessage().contains("EOS id 4096") && e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void stopTokensAndNoChatTemplate() {
        assertTrue(tokenizer.isStopToken(1));
        assertFalse(tokenizer.isStopToken(0));
        var e = assertThrows(IllegalStateException.class, () -> tokenizer.encodeChat("hello"));
        assertTrue(e.getMessage().contains("no chat template tokens"), e.getMessage());
    }

    @Test
    void mobyDickMatchesTheReferenceEncodingFromBothSources() throws IOException {
        String text = Files.readString(TestFiles.require("text/moby-dick.txt"));
        int[] ids = tokenizer.encode(text);
        assertEquals(387_587, ids.length);
        assertEquals(307_232_251L, Arrays.stream(ids).asLongStream().sum());
        assertEquals(6_240_930_559_497_678_277L, TokenChecksum.of(ids));
        assertEquals(text, tokenizer.decode(ids));

        BpeTokenizer fromLists = TokenizerJsonLists.toTokenizer(file, 0, 1);
        assertArrayEquals(ids, fromLists.encode(text));
    }

    @Test
    void streamingDecoderJoinsACharacterSplitAcrossByteTokens() {
        int[] ids = tokenizer.encode("東京");
        assertEquals(6, ids.length, "each of the 6 UTF-8 bytes is its own token in this small vocabulary");
        Tokenizer.StreamingDecoder decoder = tokenizer.streamingDecoder();
        String[] outputs = Arrays.stream(ids).mapToObj(decoder::next).toArray(String[]::new);
        assertArrayEquals(new String[] {"", "", "東", "", "", "京"}, outputs);
        assertEquals("", decoder.flush());
    }
}
