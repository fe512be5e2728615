package io.minference.llama.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * llama2.c's tok512.bin. Expected ids come from a direct transcription of run.c's encode (rescanning for the best
 * pair after every merge) written in Python for this test, independent of the heap used here.
 */
class SentencePieceTokenizerTest {
    private static Path file;
    private static SentencePieceTokenizer tokenizer;

    @TempDir
    Path temp;

    @BeforeAll
    static void load() {
        file = TestFiles.require("models/tok512.bin");
        tokenizer = SentencePieceTokenizer.fromLlama2cFile(file, 512);
    }

    @Test
    void encodesLikeRunC() {
        String sentence = "Once upon a time, there was a little girl named Lily.";
        assertArrayEquals(new int[] {403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426},
                tokenizer.encode(sentence));
        assertArrayEquals(new int[] {301, 427, 309, 410, 449, 425, 423, 427, 266, 334, 330, 265, 410, 444, 422, 421,
                414, 427, 415, 289, 411, 443}, tokenizer.encode("Spot jumped over the xylophone!"));
        assertArrayEquals(new int[0], tokenizer.encode(""));
    }

    @Test
    void piecesOfAKnownWord() {
        int[] ids = tokenizer.encode("elephant");
        // Decoded after <unk> (id 0), as a piece at the start of a text would lose its leading space.
        String[] pieces = Arrays.stream(ids).mapToObj(id -> tokenizer.decode(new int[] {0, id}))
                .map(s -> s.substring("<unk>".length())).toArray(String[]::new);
        assertArrayEquals(new String[] {" e", "le", "p", "h", "an", "t"}, pieces);
    }

    @Test
    void byteFallbackForCharactersOutsideTheVocabulary() {
        // 東 is E6 9D B1 in UTF-8; byte tokens are byte + 3. The leading 410 is the dummy-prefix space.
        assertArrayEquals(new int[] {410, 0xE6 + 3, 0x9D + 3, 0xB1 + 3}, tokenizer.encode("東"));
        assertEquals("東", tokenizer.decode(tokenizer.encode("東")));
    }

    @Test
    void roundTripsAndStripsTheSpaceAfterBos() {
        String story = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."
                + " One day, she saw a big, red ball. \"Wow!\" she said. Café 😀";
        int[] ids = tokenizer.encode(story);
        assertEquals(story, tokenizer.decode(ids));
        int[] withBos = new int[ids.length + 1];
        withBos[0] = tokenizer.bos();
        System.arraycopy(ids, 0, withBos, 1, ids.length);
        assertEquals("\n<s>\n" + story, tokenizer.decode(withBos));
    }

    @Test
    void streamingDecoderStripsAfterBosAndJoinsBytes() {
        Tokenizer.StreamingDecoder decoder = tokenizer.streamingDecoder();
        var out = new StringBuilder();
        for (int id : tokenizer.encode("Lily saw 東京.")) out.append(decoder.next(id));
        out.append(decoder.flush());
        assertEquals("Lily saw 東京.", out.toString());
    }

    @Test
    void specialIds() {
        assertEquals(512, tokenizer.vocabSize());
        assertEquals(1, tokenizer.bos());
        assertEquals(2, tokenizer.eos());
        assertTrue(tokenizer.isStopToken(2));
        int[] chat = tokenizer.encodeChat("hi");
        assertEquals(1, chat[0]);
        assertEquals("[INST] hi [/INST]", tokenizer.decode(Arrays.copyOfRange(chat, 1, chat.length)));
    }

    @Test
    void truncatedFileIsRejected() throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        Path truncated = temp.resolve("truncated.bin");
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length / 2));
        var e = assertThrows(IllegalArgumentException.class,
                () -> SentencePieceTokenizer.fromLlama2cFile(truncated, 512));
        assertTrue(e.getMessage().contains(truncated.toString()) && e.getMessage().contains("truncated"),
                e.getMessage());
    }

    @Test
    void vocabularyLargerThanTheFileIsRejected() {
        var e = assertThrows(IllegalArgumentException.class, () -> SentencePieceTokenizer.fromLlama2cFile(file, 513));
        assertTrue(e.getMessage().contains("truncated at token 512"), e.getMessage());
    }

    @Test
    void emptyFileIsRejected() throws IOException {
        Path empty = Files.createFile(temp.resolve("empty.bin"));
        var e = assertThrows(IllegalArgumentException.class, () -> SentencePieceTokenizer.fromLlama2cFile(empty, 512));
        assertTrue(e.getMessage().contains(empty.toString()), e.getMessage());
    }

    @Test
    void negativeAndAbsurdLengthsAreRejected() throws IOException {
        Path negative = temp.resolve("negative.bin");
        Files.write(negative, littleEndian(16, 0f, -5));
        var e = assertThrows(IllegalArgumentException.class, () -> SentencePieceTokenizer.fromLlama2cFile(negative, 300));
        assertTrue(e.getMessage().contains("token 0 has length -5"), e.getMessage());

        Path tooLong = temp.resolve("too-long.bin");
        Files.write(tooLong, littleEndian(16, 0f, 1_000_000));
        e = assertThrows(IllegalArgumentException.class, () -> SentencePieceTokenizer.fromLlama2cFile(tooLong, 300));
        assertTrue(e.getMessage().contains("length 1000000"), e.getMessage());

        Path header = temp.resolve("header.bin");
        Files.write(header, littleEndian(-1, 0f, 1));
        e = assertThrows(IllegalArgumentException.class, () -> SentencePieceTokenizer.fromLlama2cFile(header, 300));
        assertTrue(e.getMessage().contains("max_token_length -1"), e.getMessage());
    }

    @Test
    void vocabularyTooSmallForByteFallbackIsRejected() {
        var e = assertThrows(IllegalArgumentException.class, () -> SentencePieceTokenizer.fromLlama2cFile(file, 100));
        assertTrue(e.getMessage().contains("256 byte tokens"), e.getMessage());
    }

    @Test
    void unknownIdIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {512}));
    }

    private static byte[] littleEndian(int maxTokenLength, float score, int length) {
        return ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(maxTokenLength).putFloat(score)
                .putInt(length).array();
    }
}
