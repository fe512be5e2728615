package io.minference.app;

import io.minference.app.server.CompressedInput;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Reads a prompt file, plain or compressed with gzip, bzip2 or xz. The format is recognised from the file's first
 * bytes, so a misnamed file still reads. One trailing line break is dropped, as editors add it without meaning it.
 */
final class PromptFiles {
    /** A million-token prompt is about 4 MiB of text; far more is a mistake, refused before it fills the heap. */
    static final int MAX_PROMPT_BYTES = 64 << 20;

    private PromptFiles() {
    }

    static String read(Path file) throws IOException {
        Inputs.requireFile(file, "prompt file");
        byte[] bytes;
        try (InputStream in = CompressedInput.open(file)) {
            bytes = in.readNBytes(MAX_PROMPT_BYTES + 1);
        } catch (IOException e) {
            throw new IOException("cannot read prompt file " + file + ": " + e.getMessage(), e);
        }
        if (bytes.length > MAX_PROMPT_BYTES) {
            throw new IOException("prompt file " + file + " holds more than " + (MAX_PROMPT_BYTES >> 20)
                    + " MiB of text");
        }
        try {
            String text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
            return withoutFinalLineBreak(text);
        } catch (CharacterCodingException e) {
            throw new IOException("prompt file " + file + " is not UTF-8 text (compressed prompts must be gzip,"
                    + " bzip2 or xz)");
        }
    }

    private static String withoutFinalLineBreak(String text) {
        if (text.endsWith("\r\n")) return text.substring(0, text.length() - 2);
        if (text.endsWith("\n")) return text.substring(0, text.length() - 1);
        return text;
    }
}
