package io.minference.llama.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads llama2.c's tokenizer.bin: int32 max_token_length, then per token a float32 score, an int32 length and that
 * many bytes, all little-endian. Pieces are kept as ISO-8859-1 strings, one char per byte, so that pieces which are
 * not whole UTF-8 characters survive unchanged.
 */
final class Llama2cTokenizerFile {
    /** llama2.c tokenizers have pieces of a few dozen bytes; a larger header means a file of another kind. */
    private static final int MAX_PIECE_LENGTH = 1 << 16;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    record Contents(String[] pieces, float[] scores) {
    }

    private Llama2cTokenizerFile() {
    }

    static Contents read(Path file, int vocabSize) {
        if (vocabSize <= 0) throw new IllegalArgumentException(file + ": vocabulary size " + vocabSize + " is not positive");
        try (Arena arena = Arena.ofConfined();
             FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment data = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            return parse(file, data, vocabSize);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    private static Contents parse(Path file, MemorySegment data, int vocabSize) {
        long size = data.byteSize();
        if (size < Integer.BYTES) throw new IllegalArgumentException(file + ": truncated: no max_token_length header");
        int maxLength = data.get(INT, 0);
        if (maxLength <= 0 || maxLength > MAX_PIECE_LENGTH) {
            throw new IllegalArgumentException(file + ": max_token_length " + maxLength
                    + " is absurd; not a llama2.c tokenizer file?");
        }
        String[] pieces = new String[vocabSize];
        float[] scores = new float[vocabSize];
        long offset = Integer.BYTES;
        for (int id = 0; id < vocabSize; id++) {
            if (offset + Float.BYTES + Integer.BYTES > size) throw truncated(file, id, vocabSize);
            float score = data.get(FLOAT, offset);
            int length = data.get(INT, offset + Float.BYTES);
            offset += Float.BYTES + Integer.BYTES;
            if (Float.isNaN(score)) throw new IllegalArgumentException(file + ": token " + id + " has a NaN score");
            if (length < 0 || length > maxLength) {
                throw new IllegalArgumentException(file + ": token " + id + " has length " + length
                        + ", outside 0.." + maxLength);
            }
            if (offset + length > size) throw truncated(file, id, vocabSize);
            byte[] bytes = data.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE);
            offset += length;
            pieces[id] = new String(bytes, StandardCharsets.ISO_8859_1);
            scores[id] = score + 0.0f; // -0.0 becomes 0.0: llama2.c compares scores as floats, where they are equal
        }
        return new Contents(pieces, scores);
    }

    private static IllegalArgumentException truncated(Path file, int id, int vocabSize) {
        return new IllegalArgumentException(file + ": truncated at token " + id + " of " + vocabSize
                + " (is the vocabulary size right?)");
    }
}
