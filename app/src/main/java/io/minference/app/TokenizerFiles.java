package io.minference.app;

import io.minference.llama.tokenizer.BpeTokenizer;
import io.minference.llama.tokenizer.SentencePieceTokenizer;
import io.minference.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Opens a tokenizer file on its own, without a model. Its kind is recognised by content: a Hugging Face
 * tokenizer.json is a JSON object; anything else is read as a llama2.c tokenizer, whose vocabulary size is not
 * stored in the file but found by walking its records to the end.
 */
final class TokenizerFiles {
    /** llama2.c tokenizers are under a megabyte (32,000 tokens); a far larger file is not one. */
    private static final long MAX_LLAMA2C_BYTES = 64 << 20;

    private TokenizerFiles() {
    }

    static Tokenizer open(Path file) throws IOException {
        Inputs.requireFile(file, "tokenizer file");
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(64);
        }
        if (startsWith(head, "GGUF")) {
            throw new IOException(file + " is a GGUF model, not a tokenizer file: pass it with --model");
        }
        if (firstNonBlank(head) == '{') return BpeTokenizer.fromTokenizerJson(file);
        return SentencePieceTokenizer.fromLlama2cFile(file, llama2cTokenCount(file));
    }

    /**
     * Counts the tokens of a llama2.c tokenizer file: an int32 maximum token length, then per token a float32
     * score, an int32 byte length and the bytes, little-endian.
     */
    static int llama2cTokenCount(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_LLAMA2C_BYTES) {
            throw new IOException(file + " is not a llama2.c tokenizer file: " + size + " bytes is too large");
        }
        ByteBuffer buffer = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (buffer.remaining() < 4) throw notLlama2c(file, "it is shorter than its header");
        int maxTokenLength = buffer.getInt();
        if (maxTokenLength <= 0) throw notLlama2c(file, "its maximum token length is " + maxTokenLength);
        int count = 0;
        while (buffer.hasRemaining()) {
            int offset = buffer.position();
            if (buffer.remaining() < 8) throw notLlama2c(file, "token " + count + " at byte " + offset + " is cut off");
            buffer.getFloat();
            int length = buffer.getInt();
            if (length < 0 || length > maxTokenLength || length > buffer.remaining()) {
                throw notLlama2c(file, "token " + count + " at byte " + offset + " has length " + length
                        + " (maximum " + maxTokenLength + ", " + buffer.remaining() + " bytes left)");
            }
            buffer.position(buffer.position() + length);
            count++;
        }
        if (count == 0) throw notLlama2c(file, "it holds no tokens");
        return count;
    }

    private static IOException notLlama2c(Path file, String why) {
        return new IOException(file + " is neither a tokenizer.json nor a llama2.c tokenizer file: " + why);
    }

    private static boolean startsWith(byte[] bytes, String ascii) {
        if (bytes.length < ascii.length()) return false;
        for (int i = 0; i < ascii.length(); i++) if (bytes[i] != ascii.charAt(i)) return false;
        return true;
    }

    private static int firstNonBlank(byte[] bytes) {
        boolean byteOrderMark = bytes.length >= 3
                && (bytes[0] & 0xFF) == 0xEF && (bytes[1] & 0xFF) == 0xBB && (bytes[2] & 0xFF) == 0xBF;
        int i = byteOrderMark ? 3 : 0;
        for (; i < bytes.length; i++) {
            if (!Character.isWhitespace(bytes[i])) return bytes[i];
        }
        return -1;
    }
}
