package io.minference.llama.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A streaming decoder for tokenizers whose tokens stand for byte strings: it returns the text of all complete UTF-8
 * characters so far and holds back the start of a character that a later token finishes.
 */
final class Utf8StreamingDecoder implements Tokenizer.StreamingDecoder {
    /** The bytes a token stands for; some tokenizers render a token according to the one before it. */
    interface TokenBytes {
        byte[] bytes(int previous, int token);
    }

    private final TokenBytes tokenBytes;
    private byte[] pending = new byte[16];
    private int count;
    private int previous = -1;

    Utf8StreamingDecoder(TokenBytes tokenBytes) {
        this.tokenBytes = tokenBytes;
    }

    /** Decodes the first token as if {@code token} had come before it. */
    void assumePrevious(int token) {
        previous = token;
    }

    @Override
    public String next(int token) {
        byte[] bytes = tokenBytes.bytes(previous, token);
        previous = token;
        if (count + bytes.length > pending.length) pending = Arrays.copyOf(pending, 2 * (count + bytes.length));
        System.arraycopy(bytes, 0, pending, count, bytes.length);
        count += bytes.length;
        int complete = completeLength(pending, count);
        String text = new String(pending, 0, complete, StandardCharsets.UTF_8);
        System.arraycopy(pending, complete, pending, 0, count - complete);
        count -= complete;
        return text;
    }

    @Override
    public String flush() {
        String text = new String(pending, 0, count, StandardCharsets.UTF_8);
        count = 0;
        return text;
    }

    /**
     * The length of the prefix that holds no unfinished character at its end. Only a well-formed beginning of a
     * character (a lead byte followed by fewer continuation bytes than it announces) is held back; malformed bytes
     * are let through, to become U+FFFD.
     */
    static int completeLength(byte[] bytes, int length) {
        int start = length;
        while (start > 0 && length - start < 3 && (bytes[start - 1] & 0xC0) == 0x80) start--;
        if (start == 0) return length;
        int lead = bytes[start - 1] & 0xFF;
        int expected = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 && lead < 0xF0 ? 3 : lead >= 0xC2 && lead < 0xE0 ? 2 : 0;
        int have = length - (start - 1);
        return expected > have ? start - 1 : length;
    }
}
