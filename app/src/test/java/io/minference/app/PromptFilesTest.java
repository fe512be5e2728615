package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PromptFilesTest {
    /** Non-ASCII and long enough to span several compression blocks' worth of repetition. */
    private static final String TEXT = "Call me Ishmael. Çà et là, naïve café — 日本語 🐋\n".repeat(2000) + "The end.";

    @TempDir
    Path dir;

    private interface Compressor {
        OutputStream wrap(OutputStream out) throws IOException;
    }

    private Path compressed(String name, Compressor compressor) throws IOException {
        Path file = dir.resolve(name);
        try (OutputStream out = compressor.wrap(Files.newOutputStream(file))) {
            out.write(TEXT.getBytes(StandardCharsets.UTF_8));
        }
        return file;
    }

    @Test
    void plainGzipBzip2AndXzReadBackTheSameText() throws IOException {
        assertEquals(TEXT, PromptFiles.read(Files.writeString(dir.resolve("p.txt"), TEXT)));
        assertEquals(TEXT, PromptFiles.read(compressed("p.txt.gz", GzipCompressorOutputStream::new)));
        assertEquals(TEXT, PromptFiles.read(compressed("p.txt.bz2", BZip2CompressorOutputStream::new)));
        assertEquals(TEXT, PromptFiles.read(compressed("p.txt.xz", XZCompressorOutputStream::new)));
    }

    @Test
    void theFormatComesFromTheContentNotTheName() throws IOException {
        assertEquals(TEXT, PromptFiles.read(compressed("misnamed.txt", XZCompressorOutputStream::new)));
        assertEquals(TEXT, PromptFiles.read(compressed("really-bzip2.gz", BZip2CompressorOutputStream::new)));
        assertEquals("plain after all", PromptFiles.read(Files.writeString(dir.resolve("plain.gz"), "plain after all")));
    }

    @Test
    void textThatLooksLikeAnotherSignatureStaysText() throws IOException {
        // "x^" is a zlib header; only gzip, bzip2 and xz are taken as compression.
        assertEquals("x^2 + 1", PromptFiles.read(Files.writeString(dir.resolve("math.txt"), "x^2 + 1")));
    }

    @Test
    void oneFinalLineBreakIsDropped() throws IOException {
        assertEquals("a\n", PromptFiles.read(Files.writeString(dir.resolve("a.txt"), "a\n\n")));
        assertEquals("b", PromptFiles.read(Files.writeString(dir.resolve("b.txt"), "b\r\n")));
        assertEquals("", PromptFiles.read(Files.writeString(dir.resolve("empty.txt"), "")));
    }

    @Test
    void missingDirectoryBrokenAndBinaryFilesAreNamed() throws IOException {
        Path missing = dir.resolve("missing.txt");
        assertEquals("prompt file not found: " + missing,
                assertThrows(IOException.class, () -> PromptFiles.read(missing)).getMessage());
        assertEquals("prompt file " + dir + " is a directory",
                assertThrows(IOException.class, () -> PromptFiles.read(dir)).getMessage());

        Path gz = compressed("cut.gz", GzipCompressorOutputStream::new);
        byte[] bytes = Files.readAllBytes(gz);
        Path truncated = Files.write(dir.resolve("truncated.gz"), Arrays.copyOf(bytes, bytes.length / 2));
        String message = assertThrows(IOException.class, () -> PromptFiles.read(truncated)).getMessage();
        assertTrue(message.startsWith("cannot read prompt file " + truncated + ": "), message);

        Path binary = Files.write(dir.resolve("model.bin"), new byte[]{0, 1, 2, (byte) 0xFF, (byte) 0xFE});
        assertEquals("prompt file " + binary + " is not UTF-8 text (compressed prompts must be gzip, bzip2 or xz)",
                assertThrows(IOException.class, () -> PromptFiles.read(binary)).getMessage());
    }
}
