package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.runtime.SharedData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerFilesTest {
    @TempDir
    Path dir;

    /** A llama2.c tokenizer file: max token length, then per token score, length, bytes (little-endian). */
    private Path llama2cFile(String... tokens) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(Arrays.stream(tokens).mapToInt(String::length).max().orElse(1));
        for (int i = 0; i < tokens.length; i++) {
            byte[] bytes = tokens[i].getBytes(StandardCharsets.UTF_8);
            buffer.putFloat(-i).putInt(bytes.length).put(bytes);
        }
        return Files.write(dir.resolve("tokenizer.bin"), Arrays.copyOf(buffer.array(), buffer.position()));
    }

    @Test
    void countsTheRecordsOfALlama2cFile() throws IOException {
        assertEquals(4, TokenizerFiles.llama2cTokenCount(llama2cFile("<unk>", "<s>", "</s>", "hello")));
    }

    @Test
    void countsTheSharedTok512() throws IOException {
        Optional<Path> tok512 = SharedData.file("models/tok512.bin");
        assumeTrue(tok512.isPresent(), "shared data models/tok512.bin is absent");
        assertEquals(512, TokenizerFiles.llama2cTokenCount(tok512.get()));
    }

    @Test
    void refusesFilesThatAreNotLlama2cTokenizers() throws IOException {
        Path file = llama2cFile("<unk>", "<s>", "hello");
        byte[] bytes = Files.readAllBytes(file);
        Path cut = Files.write(dir.resolve("cut.bin"), Arrays.copyOf(bytes, bytes.length - 2));
        String message = assertThrows(IOException.class, () -> TokenizerFiles.llama2cTokenCount(cut)).getMessage();
        assertEquals(cut + " is neither a tokenizer.json nor a llama2.c tokenizer file: token 2 at byte "
                + (bytes.length - 13) + " has length 5 (maximum 5, 3 bytes left)", message);

        Path text = Files.writeString(dir.resolve("words.txt"), "hello world, this is text");
        assertTrue(assertThrows(IOException.class, () -> TokenizerFiles.llama2cTokenCount(text)).getMessage()
                .contains("is neither a tokenizer.json nor a llama2.c tokenizer file"));

        Path empty = Files.write(dir.resolve("empty.bin"), new byte[]{7, 0, 0, 0});
        assertTrue(assertThrows(IOException.class, () -> TokenizerFiles.llama2cTokenCount(empty)).getMessage()
                .endsWith("it holds no tokens"));
    }

    @Test
    void aGgufFileIsSentToModel() throws IOException {
        Path gguf = Files.write(dir.resolve("m.gguf"), new byte[]{'G', 'G', 'U', 'F', 3, 0, 0, 0});
        assertEquals(gguf + " is a GGUF model, not a tokenizer file: pass it with --model",
                assertThrows(IOException.class, () -> TokenizerFiles.open(gguf)).getMessage());
    }
}
