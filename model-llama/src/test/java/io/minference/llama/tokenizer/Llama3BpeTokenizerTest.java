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
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * LLaMA-3's tokenizer.json. Expected ids come from an independent implementation: @lenml/tokenizers 3.7.2 (the
 * tokenizers part of transformers.js) run on the same file, and the ids of special tokens from the file itself.
 */
class Llama3BpeTokenizerTest {
    private static Path file;
    private static BpeTokenizer tokenizer;

    @BeforeAll
    static void load() {
        file = TestFiles.require("tokenizers/llama3-tokenizer.json");
        tokenizer = BpeTokenizer.fromTokenizerJson(file);
    }

    @Test
    void vocabularyAndSpecialTokens() {
        assertEquals(128_256, tokenizer.vocabSize());
        assertEquals(128_000, tokenizer.bos());
        assertEquals(128_001, tokenizer.eos());
        assertArrayEquals(new int[] {128_000}, tokenizer.encode("<|begin_of_text|>"));
        assertArrayEquals(new int[] {128_009}, tokenizer.encode("<|eot_id|>"));
        assertTrue(tokenizer.isStopToken(128_001));
        assertTrue(tokenizer.isStopToken(128_009));
        assertFalse(tokenizer.isStopToken(128_000));
        assertFalse(tokenizer.isStopToken(9906));
    }

    @Test
    void encodesLikeTheReference() {
        assertEncodes("Hello world", 9906, 1917);
        assertEncodes("<|begin_of_text|>Hi<|eot_id|>", 128000, 13347, 128009);
        assertEncodes("12345678", 4513, 10961, 2495);
        assertEncodes("  a   b\t\tc\n\n\nd ", 220, 264, 256, 293, 197, 1470, 1432, 67, 220);
        assertEncodes("café naïve 東京 😀", 936, 59958, 95980, 588, 119109, 91416);
        assertEncodes("I'm sure you'll see HE'S DONE it's", 40, 2846, 2771, 499, 3358, 1518, 11947, 13575, 55785,
                433, 596);
        assertEncodes("a\u00a0b\u3000c\u2003d", 64, 115648, 23249, 66, 116503, 67);
        assertEncodes("1234567890 3.14159 ٣٤٥٦", 4513, 10961, 16474, 15, 220, 18, 13, 9335, 2946, 220, 117413,
                124079, 124043, 149, 99);
        assertEncodes("Wait...!!!\n\n  (yes)\r\n", 14524, 1131, 33157, 220, 320, 9891, 1240);
        assertEncodes("<|eot_id|", 27, 91, 68, 354, 851, 91);
        assertEncodes("Call me Ishmael.", 7368, 757, 57704, 1764, 301, 13);
        assertEncodes("", new int[0]);
    }

    @Test
    void numbersSplitInGroupsOfThree() {
        int[] ids = tokenizer.encode("1234567");
        String[] pieces = Arrays.stream(ids).mapToObj(id -> tokenizer.decode(new int[] {id})).toArray(String[]::new);
        assertArrayEquals(new String[] {"123", "456", "7"}, pieces);
    }

    @Test
    void roundTrips() {
        for (String text : List.of("Hello world", "Ça a été très été-ish: naïve façade", "日本語のテキスト、中文文本",
                "emoji 😀👍🏽 👨‍👩‍👧 and flags 🇫🇷", "digits 0 12 345 6789 1234567890", "spaces     and\ttabs\t\t\tand",
                "lines\n\n\nand\r\nwindows\r\n", "  leading and trailing  ", "<|begin_of_text|>special<|eot_id|>tokens",
                "<|start_header_id|>user<|end_header_id|>\n\nhi", "mixed ٣٤٥ Ωμέγα Привет\u00a0!")) {
            assertEquals(text, tokenizer.decode(tokenizer.encode(text)), text);
        }
    }

    @Test
    void mobyDickMatchesTheReferenceEncoding() throws IOException {
        String text = Files.readString(TestFiles.require("text/moby-dick.txt"));
        long start = System.nanoTime();
        int[] ids = tokenizer.encode(text);
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(seconds < 30, "encoding Moby-Dick took " + seconds + " s");
        assertEquals(298_553, ids.length);
        assertEquals(2_615_852_206L, Arrays.stream(ids).asLongStream().sum());
        assertEquals(6_717_346_327_025_582_612L, TokenChecksum.of(ids));
        assertEquals(text, tokenizer.decode(ids));
    }

    @Test
    void fromVocabularyEncodesTheSame() throws IOException {
        BpeTokenizer fromLists = TokenizerJsonLists.toTokenizer(file, 128_000, 128_001);
        assertEquals(tokenizer.vocabSize(), fromLists.vocabSize());
        String text = Files.readString(TestFiles.require("text/moby-dick.txt")).substring(0, 200_000)
                + "<|begin_of_text|>x<|eot_id|> 😀 12345";
        assertArrayEquals(tokenizer.encode(text), fromLists.encode(text));
        assertTrue(fromLists.isStopToken(128_009));
    }

    @Test
    void chatTemplate() {
        int[] expected = {128000, 128006, 882, 128007, 271, 3923, 374, 220, 17, 10, 17, 30, 128009, 128006, 78191,
                128007, 271};
        assertArrayEquals(expected, tokenizer.encodeChat("What is 2+2?"));
        assertArrayEquals(expected, tokenizer.encodeChat("  What is 2+2?\n"));
    }

    @Test
    void decodeRendersSpecialTokensAndRejectsUnknownIds() {
        assertEquals("<|begin_of_text|>Hello world", tokenizer.decode(new int[] {128000, 9906, 1917}));
        var e = assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {128_256}));
        assertTrue(e.getMessage().contains("128256"), e.getMessage());
    }

    @Test
    void streamingDecoderHoldsBackPartialCharacters() {
        String text = "Grüße 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ꙮ done";
        int[] ids = tokenizer.encode(text);
        Tokenizer.StreamingDecoder decoder = tokenizer.streamingDecoder();
        var out = new StringBuilder();
        boolean heldBack = false;
        for (int id : ids) {
            String piece = decoder.next(id);
            assertFalse(piece.contains("\uFFFD"), "a partial character escaped: " + piece);
            if (tokenizer.decode(new int[] {id}).contains("\uFFFD")) heldBack = true;
            out.append(piece);
        }
        out.append(decoder.flush());
        assertTrue(heldBack, "the text should contain a character split across tokens");
        assertEquals(text, out.toString());
    }

    @Test
    void longRunsOfOneKindOfCharacter() {
        for (String run : List.of(" ".repeat(200_000) + "a", "x".repeat(200_000), "7".repeat(200_000),
                "!".repeat(200_000), "\n".repeat(100_000) + " ".repeat(100_000))) {
            assertEquals(run, tokenizer.decode(tokenizer.encode(run)));
        }
        assertEquals(66_667, tokenizer.encode("7".repeat(200_000)).length);
    }

    private static void assertEncodes(String text, int... expected) {
        assertArrayEquals(expected, tokenizer.encode(text), text);
    }
}
