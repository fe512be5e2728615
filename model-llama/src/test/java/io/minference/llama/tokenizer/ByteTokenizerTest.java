package io.minference.llama.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ByteTokenizerTest {
    private final ByteTokenizer tokenizer = new ByteTokenizer();

    @Test
    void idsAreUtf8Bytes() {
        assertArrayEquals(new int[] {'H', 'i', 0xC3, 0xA9}, tokenizer.encode("Hié"));
        assertEquals("Hié 😀", tokenizer.decode(tokenizer.encode("Hié 😀")));
        assertEquals(258, tokenizer.vocabSize());
    }

    @Test
    void specialTokens() {
        assertEquals(256, tokenizer.bos());
        assertEquals(257, tokenizer.eos());
        assertTrue(tokenizer.isStopToken(257));
        assertFalse(tokenizer.isStopToken(256));
        assertArrayEquals(new int[] {256, 'a', 257}, tokenizer.encode("<s>a</s>"));
        assertEquals("<s>a</s>", tokenizer.decode(new int[] {256, 'a', 257}));
        assertArrayEquals(new int[] {256, 'o', 'k'}, tokenizer.encodeChat("ok"));
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {258}));
    }

    @Test
    void idsOfALargerModelThatStandForNoByteDecodeToTheirNumber() {
        ByteTokenizer large = new ByteTokenizer(128256);
        assertEquals("a<t38718>b", large.decode(new int[] {'a', 38718, 'b'}));
        assertEquals("<t300>", large.streamingDecoder().next(300));
        var outside = assertThrows(IllegalArgumentException.class, () -> large.decode(new int[] {128256}));
        assertTrue(outside.getMessage().contains("outside the vocabulary (0..128255)"), outside.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ByteTokenizer(100));
    }

    @Test
    void streamingHoldsBackPartialCharacters() {
        Tokenizer.StreamingDecoder decoder = tokenizer.streamingDecoder();
        assertEquals("", decoder.next(0xE2));
        assertEquals("", decoder.next(0x82));
        assertEquals("€", decoder.next(0xAC));
        assertEquals("x", decoder.next('x'));
        assertEquals("", decoder.next(0xC3));
        assertEquals("\uFFFD", decoder.flush());
    }
}
