package io.minference.llama.load;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LlamaModel;
import io.minference.llama.tokenizer.ByteTokenizer;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.SharedData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class ModelLoaderTest {
    @TempDir
    Path dir;

    @Test
    void inspectsSyntheticShapes() {
        ModelInfo info = ModelLoader.inspect("synthetic:tiny");
        assertEquals("synthetic", info.format());
        assertEquals("synthetic:tiny", info.source());
        assertEquals(512, info.config().dim());
        assertEquals(4 * 9 + 3, info.tensors().size());
        assertTrue(info.tensors().stream().allMatch(t -> t.type().equals("F32")));
        assertArrayEquals(new long[] {258, 512}, info.tensors().getFirst().shape());
    }

    @Test
    void loadsSyntheticModelsWithTheByteTokenizer() {
        try (LlamaModel model = ModelLoader.load("synthetic:tiny", null, ProgressListener.NONE)) {
            assertEquals("synthetic:tiny", model.source());
            assertEquals(4, model.weights().layers().size());
            assertInstanceOf(ByteTokenizer.class, model.tokenizer());
        }
    }

    @Test
    void missingFilesAndDirectoriesFailClearly() throws IOException {
        String missing = dir.resolve("nope.gguf").toString();
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> ModelLoader.inspect(missing));
        assertEquals(missing + ": no such file", e.getMessage());
        e = assertThrows(ModelLoadException.class, () -> ModelLoader.load(missing, null, ProgressListener.NONE));
        assertEquals(missing + ": no such file", e.getMessage());
        e = assertThrows(ModelLoadException.class, () -> ModelLoader.inspect(dir.toString()));
        assertEquals(dir + ": is a directory, not a model file", e.getMessage());
        e = assertThrows(ModelLoadException.class, () -> ModelLoader.inspect("synthetic:huge"));
        assertTrue(e.getMessage().startsWith("synthetic:huge: no such synthetic shape"), e.getMessage());
    }

    @Test
    void aFileOfNeitherFormatSaysBothAndWhatItsHeaderGot() throws IOException {
        // a text file: its first 28 bytes read as a llama2.c header give a head count the KV heads do not divide
        Path file = Files.write(dir.resolve("notes.md"), "# Notes\n\nA text file, not a model: it has many words.\n"
                .getBytes());
        for (var attempt : new Executable[] {
                () -> ModelLoader.inspect(file.toString()),
                () -> ModelLoader.load(file.toString(), null, ProgressListener.NONE)}) {
            ModelFormatException e = assertThrows(ModelFormatException.class, attempt);
            assertTrue(e.getMessage().startsWith(file + ": not GGUF (it does not start with \"GGUF\"), and not a valid"
                    + " llama2.c checkpoint: invalid KV head count"), e.getMessage());
        }
    }

    @Test
    void aGgufNamedFileWithTheWrongMagicSaysSo() throws IOException {
        Path file = Files.write(dir.resolve("model.gguf"), "GGUX\3\0\0\0 not a model at all".getBytes());
        for (var attempt : new Executable[] {
                () -> ModelLoader.inspect(file.toString()),
                () -> ModelLoader.load(file.toString(), null, ProgressListener.NONE)}) {
            ModelFormatException e = assertThrows(ModelFormatException.class, attempt);
            assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("wrong magic"), e.getMessage());
        }
    }

    @Test
    void unreadableFile() throws IOException {
        Path file = Files.write(dir.resolve("locked.bin"), new byte[64]);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("---------"));
        Assumptions.assumeFalse(Files.isReadable(file), "this user reads files regardless of permissions");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> ModelLoader.inspect(file.toString()));
        assertEquals(file + ": cannot read the file (permission denied)", e.getMessage());
    }

    @Test
    void llama2cCheckpointWithoutTokenizerAsksForOne() throws IOException {
        // dim 8, hidden 8, 1 layer, 2 heads, 2 KV heads, vocab 5 (shared), seqLen 4: embedding 40 floats, the layer
        // 464, the final norm 8, the RoPE tables 16.
        ByteBuffer b = ByteBuffer.allocate(28 + 4 * (40 + 464 + 8 + 16)).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : new int[] {8, 8, 1, 2, 2, 5, 4}) b.putInt(v);
        Path file = Files.write(dir.resolve("model.gguf"), b.array());
        ModelInfo info = ModelLoader.inspect(file.toString());
        assertEquals("llama2.c", info.format(), "the format comes from the content, not the suffix");
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> ModelLoader.load(file.toString(), null, ProgressListener.NONE));
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("tok5.bin") && e.getMessage().contains("pass --tokenizer"), e.getMessage());
        Path missingTokenizer = dir.resolve("absent.bin");
        e = assertThrows(ModelLoadException.class,
                () -> ModelLoader.load(file.toString(), missingTokenizer, ProgressListener.NONE));
        assertEquals(missingTokenizer + ": no such file", e.getMessage());
    }

    @Test
    void inspectsStories260K() {
        Path file = SharedData.file("models/stories260K.bin").orElse(null);
        Assumptions.assumeTrue(file != null, "shared data models/stories260K.bin is absent");
        ModelInfo info = ModelLoader.inspect(file.toString());
        assertEquals("llama2.c", info.format());
        assertEquals(64, info.config().dim());
        assertEquals(5, info.config().numLayers());
        assertEquals(8, info.config().numHeads());
        assertEquals(4, info.config().numKvHeads());
        assertEquals(512, info.config().vocabSize());
        assertEquals(512, info.config().contextLength());
        assertEquals("wq", info.tensors().get(2).name());
        assertArrayEquals(new long[] {5, 64, 64}, info.tensors().get(2).shape());
    }

    /** The llama2.c model with the SentencePiece tokenizer file beside it. */
    @Test
    void loadsStories260KWithTheTokenizerBesideIt() {
        Path file = SharedData.file("models/stories260K.bin").orElse(null);
        Assumptions.assumeTrue(file != null, "shared data models/stories260K.bin is absent");
        try (LlamaModel model = ModelLoader.load(file.toString(), null, ProgressListener.NONE)) {
            assertEquals(512, model.tokenizer().vocabSize());
            assertEquals(5, model.weights().layers().size());
            assertTrue(model.weights().sharedClassifier());
        }
    }
}
