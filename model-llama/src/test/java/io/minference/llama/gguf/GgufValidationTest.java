package io.minference.llama.gguf;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.load.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Each kind of bad GGUF file fails with a ModelFormatException that names the file and the problem. */
class GgufValidationTest {
    @TempDir
    Path dir;

    private Path file(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    private static GgufWriter valid() {
        return new GgufWriter()
                .putString("general.architecture", "llama")
                .put("tokens", GgufType.ARRAY, new GgufWriter.ArrayValue(GgufType.STRING, List.of("a", "b")))
                .tensor("weight", GgmlType.F32, new long[] {4, 2}, new byte[32]);
    }

    private static void assertFails(Path file, Executable open, String... expectedParts) {
        ModelFormatException e = assertThrows(ModelFormatException.class, open);
        String message = e.getMessage();
        assertTrue(message.startsWith(file.toString() + ": "), "message does not name the file: " + message);
        for (String part : expectedParts) {
            assertTrue(message.contains(part), "message lacks '" + part + "': " + message);
        }
    }

    private void assertOpenFails(String name, byte[] bytes, String... expectedParts) throws IOException {
        Path file = file(name, bytes);
        assertFails(file, () -> GgufFile.open(file).close(), expectedParts);
    }

    /** The header fields sit at fixed offsets: magic 0, version 4, tensor count 8, metadata count 16. */
    private static byte[] patch(byte[] bytes, int offset, long value, int width) {
        byte[] copy = bytes.clone();
        byte[] le = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array();
        System.arraycopy(le, 0, copy, offset, width);
        return copy;
    }

    @Test
    void validFileOpens() throws IOException {
        Path file = valid().write(dir.resolve("ok.gguf"));
        try (GgufFile gguf = GgufFile.open(file)) {
            assertTrue(gguf.tensor("weight").isPresent());
        }
    }

    @Test
    void emptyAndTruncatedFiles() throws IOException {
        byte[] bytes = valid().toBytes();
        assertOpenFails("empty.gguf", new byte[0], "truncated file", "magic");
        assertOpenFails("header.gguf", Arrays.copyOf(bytes, 12), "truncated file", "tensor count");
        assertOpenFails("counts.gguf", Arrays.copyOf(bytes, 30), "absurd tensor count 1", "truncated or corrupt");
        assertOpenFails("key.gguf", Arrays.copyOf(bytes, 50), "metadata key length 20", "truncated or corrupt");
        assertOpenFails("value.gguf", Arrays.copyOf(bytes, 60), "truncated file",
                "metadata key 'general.architecture' length at offset 56");
        assertOpenFails("data.gguf", Arrays.copyOf(bytes, bytes.length - 4), "tensor 'weight'",
                "beyond the end of the file");
    }

    @Test
    void wrongMagic() throws IOException {
        assertOpenFails("magic.gguf", new GgufWriter().magic(0x46554746).toBytes(), "not a GGUF file", "wrong magic");
    }

    @Test
    void unsupportedVersions() throws IOException {
        assertOpenFails("v1.gguf", new GgufWriter().version(1).toBytes(), "unsupported GGUF version 1");
        assertOpenFails("v4.gguf", new GgufWriter().version(4).toBytes(), "unsupported GGUF version 4");
        assertOpenFails("big-endian.gguf", new GgufWriter().version(0x03000000).toBytes(), "big-endian");
    }

    @Test
    void absurdCounts() throws IOException {
        byte[] bytes = valid().toBytes();
        assertOpenFails("tensors.gguf", patch(bytes, 8, 1L << 40, 8), "absurd tensor count 1099511627776");
        assertOpenFails("metadata.gguf", patch(bytes, 16, -1, 8), "absurd metadata count 18446744073709551615");
        // The first key's length prefix is at offset 24.
        assertOpenFails("key.gguf", patch(bytes, 24, 1L << 50, 8), "absurd metadata key length");
    }

    @Test
    void absurdArrayAndStringLengths() throws IOException {
        byte[] bytes = valid().toBytes();
        // Key "general.architecture" (8 + 20 bytes), type (4), then the string value's length at 24 + 28 + 4.
        int valueLength = 24 + 8 + 20 + 4;
        assertOpenFails("string.gguf", patch(bytes, valueLength, 1L << 33, 8), "absurd metadata key",
                "length 8589934592");
        // Then that string (8 + 5), the key "tokens" (8 + 6), type 4, element type 4, array length.
        int arrayLength = valueLength + 8 + 5 + 8 + 6 + 4 + 4;
        assertOpenFails("array.gguf", patch(bytes, arrayLength, 1L << 31, 8), "absurd metadata key 'tokens'",
                "array length 2147483648");
    }

    @Test
    void tensorBeyondTheEndOfTheFile() throws IOException {
        assertOpenFails("offset.gguf", new GgufWriter().tensorInfo("far", 0, new long[] {8}, 1 << 20).toBytes(),
                "tensor 'far'", "beyond the end of the file");
        assertOpenFails("size.gguf", new GgufWriter().tensorInfo("huge", 0, new long[] {1L << 40}, 0).toBytes(),
                "tensor 'huge'", "beyond the end of the file");
    }

    @Test
    void dimensionOverflow() throws IOException {
        byte[] bytes = new GgufWriter().tensorInfo("wide", 0, new long[] {1L << 32, 1L << 32, 4}, 0).toBytes();
        assertOpenFails("overflow.gguf", bytes, "dimension overflow", "tensor 'wide'");
        byte[] negative = new GgufWriter().tensorInfo("neg", 0, new long[] {-2}, 0).toBytes();
        assertOpenFails("negative.gguf", negative, "tensor 'neg'", "absurd dimension 18446744073709551614");
        byte[] many = new GgufWriter().tensorInfo("deep", 0, new long[] {1, 1, 1, 1, 1}, 0).toBytes();
        assertOpenFails("dims.gguf", many, "tensor 'deep' has 5 dimensions");
    }

    @Test
    void unknownTensorType() throws IOException {
        assertOpenFails("type.gguf", new GgufWriter().tensorInfo("blk.0.attn_q.weight", 99, new long[] {32}, 0)
                .toBytes(), "tensor 'blk.0.attn_q.weight' has unknown tensor type 99");
    }

    @Test
    void misalignedOffsetAndPartialBlock() throws IOException {
        assertOpenFails("misaligned.gguf", new GgufWriter().tensorInfo("t", 0, new long[] {8}, 4).toBytes(),
                "tensor 't' has data offset 4", "alignment 32");
        assertOpenFails("partial.gguf", new GgufWriter().tensorInfo("q", GgmlType.Q4_K.id(), new long[] {100}, 0)
                .toBytes(), "tensor 'q' of type Q4_K has ne[0] = 100", "block size 256");
        assertOpenFails("alignment.gguf", new GgufWriter().alignment(24).toBytes(), "general.alignment");
    }

    @Test
    void duplicateKeysAndTensors() throws IOException {
        assertOpenFails("keys.gguf", new GgufWriter().putUint32("a", 1).putUint32("a", 2).toBytes(),
                "duplicate metadata key 'a'");
        assertOpenFails("tensors.gguf", new GgufWriter().tensor("t", GgmlType.F32, new long[] {1}, new byte[4])
                .tensor("t", GgmlType.F32, new long[] {1}, new byte[4]).toBytes(), "duplicate tensor 't'");
    }

    @Test
    void badValueTypeAndBool() throws IOException {
        byte[] bytes = new GgufWriter().put("flag", GgufType.BOOL, true).toBytes();
        // Key "flag" (8 + 4 bytes) at 24, its type at 36, the bool at 40.
        assertOpenFails("type.gguf", patch(bytes, 36, 13, 4), "unknown metadata value type 13",
                "metadata key 'flag'");
        assertOpenFails("bool.gguf", patch(bytes, 40, 2, 1), "invalid bool 2");
    }

    @Test
    void missingAndMistypedMetadataKeys() throws IOException {
        Path file = valid().write(dir.resolve("model.gguf"));
        try (GgufFile gguf = GgufFile.open(file)) {
            GgufMetadata meta = gguf.metadata();
            assertFails(file, () -> meta.requireInt("llama.block_count"),
                    "missing metadata key 'llama.block_count'");
            assertFails(file, () -> meta.requireInt("general.architecture"),
                    "metadata key 'general.architecture' is a STRING, expected an integer");
            assertFails(file, () -> meta.requireIntArray("tokens"), "an array of STRING, expected an array of integers");
            assertFails(file, () -> gguf.requireTensor("output.weight"), "missing tensor 'output.weight'");
        }
    }

    @Test
    void unconvertibleTensorType() throws IOException {
        Path file = new GgufWriter().tensor("k", GgmlType.Q3_K, new long[] {256}, new byte[110])
                .write(dir.resolve("q3.gguf"));
        try (GgufFile gguf = GgufFile.open(file)) {
            assertFails(file, () -> gguf.loadF32(gguf.requireTensor("k")), "tensor 'k' has type Q3_K",
                    "cannot be computed on", "Q4_K", "Q5_K");
            assertFails(file, () -> gguf.mapped(gguf.requireTensor("k")), "tensor 'k' has type Q3_K");
        }
    }

    @Test
    void tokenizerMetadataErrorsNameTheFile() throws IOException {
        Path file = new GgufWriter()
                .putString("tokenizer.ggml.model", "gpt2")
                .put("tokenizer.ggml.tokens", GgufType.ARRAY, new GgufWriter.ArrayValue(GgufType.STRING,
                        List.of("a", "b", "ab")))
                .put("tokenizer.ggml.merges", GgufType.ARRAY, new GgufWriter.ArrayValue(GgufType.STRING,
                        List.of("a c")))
                .putUint32("tokenizer.ggml.bos_token_id", 0)
                .putUint32("tokenizer.ggml.eos_token_id", 1)
                .write(dir.resolve("merges.gguf"));
        try (GgufFile gguf = GgufFile.open(file)) {
            assertFails(file, () -> GgufLlama.readTokenizer(gguf), "merge 1", "not in the vocabulary");
        }
    }
}
