package io.minference.llama.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class Utf8StreamingDecoderTest {
    @Test
    void holdsBackOnlyWellFormedBeginnings() {
        assertEquals(0, complete(0xF0, 0x9F, 0x98));
        assertEquals(4, complete(0xF0, 0x9F, 0x98, 0x80));
        assertEquals(1, complete('a', 0xE4));
        assertEquals(1, complete('a', 0xE4, 0xB8));
        assertEquals(2, complete(0xC3, 0xA9));
        // Continuation bytes without a lead byte, or an invalid lead byte, are passed on to become U+FFFD.
        assertEquals(2, complete(0x80, 0x80));
        assertEquals(1, complete(0xFF));
        assertEquals(1, complete(0xC0));
    }

    @Test
    void malformedBytesBecomeReplacementCharacters() {
        var decoder = new Utf8StreamingDecoder((previous, token) -> new byte[] {(byte) token});
        assertEquals("a\uFFFD", decoder.next('a') + decoder.next(0x80));
        assertEquals("", decoder.next(0xE4));
        assertEquals("\uFFFDb", decoder.next('b'));
    }

    private static int complete(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < b.length; i++) b[i] = (byte) bytes[i];
        return Utf8StreamingDecoder.completeLength(b, b.length);
    }
}
