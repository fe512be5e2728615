package io.minference.llama.llama2c;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.llama.load.ModelFormatException;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.SharedData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Llama2cCheckpointTest {
    @TempDir
    Path dir;

    /** A checkpoint whose float number k (counting from the first after the header) is k / 1024. */
    static byte[] checkpoint(int dim, int hidden, int layers, int heads, int kvHeads, int vocab, int seqLen,
                             long floats) {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(28 + 4 * floats)).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : new int[] {dim, hidden, layers, heads, kvHeads, vocab, seqLen}) b.putInt(v);
        for (long k = 0; k < floats; k++) b.putFloat(k / 1024f);
        return b.array();
    }

    /** Floats of a checkpoint, counted by hand from llama2.c's order. */
    private static long floats(int dim, int hidden, int layers, int kvDim, int vocab, int seqLen, int headDim,
                               boolean shared) {
        long perLayer = dim + (long) dim * dim + 2L * kvDim * dim + (long) dim * dim + dim + 3L * hidden * dim;
        return (long) vocab * dim + layers * perLayer + dim + (long) seqLen * headDim + (shared ? 0 : (long) vocab * dim);
    }

    @Test
    void readsWeightsInOrder() throws IOException {
        // dim 16, hidden 24, 2 layers, 4 heads (head dim 4), 2 KV heads (kvDim 8), vocab 12 unshared, seqLen 8.
        long n = floats(16, 24, 2, 8, 12, 8, 4, false);
        Path file = Files.write(dir.resolve("model.bin"), checkpoint(16, 24, 2, 4, 2, -12, 8, n));
        Llama2cHeader header = Llama2cHeader.read(file);
        assertFalse(header.sharedClassifier());
        assertEquals(12, header.vocabSize());
        assertEquals(new LlamaConfig(16, 24, 2, 4, 2, 12, 8, 10000f, 1e-5f), header.config("x"));
        try (LlamaWeights w = Llama2cCheckpoint.load(file, header, ProgressListener.NONE)) {
            long k = 0;
            assertEquals(k / 1024f, w.tokenEmbedding().getFloat(0));
            k += 12 * 16;
            LayerWeights l0 = w.layers().get(0);
            LayerWeights l1 = w.layers().get(1);
            assertEquals(k / 1024f, l0.attentionNorm().getFloat(0));
            assertEquals((k + 16) / 1024f, l1.attentionNorm().getFloat(0));
            k += 2 * 16;
            assertEquals((k + 256 + 5) / 1024f, l1.wq().getFloat(5));
            k += 2 * 256;
            assertArrayEquals(new long[] {8, 16}, l0.wk().shape());
            assertEquals(k / 1024f, l0.wk().getFloat(0));
            k += 2 * 128;
            assertEquals((k + 128) / 1024f, l1.wv().getFloat(0));
            k += 2 * 128;
            assertEquals(k / 1024f, l0.wo().getFloat(0));
            k += 2 * 256;
            assertEquals(k / 1024f, l0.ffnNorm().getFloat(0));
            k += 2 * 16;
            assertArrayEquals(new long[] {24, 16}, l0.wGate().shape());
            assertEquals((k + 384 + 383) / 1024f, l1.wGate().getFloat(383));
            k += 2 * 384;
            assertArrayEquals(new long[] {16, 24}, l0.wDown().shape());
            assertEquals(k / 1024f, l0.wDown().getFloat(0));
            k += 2 * 384;
            assertEquals(k / 1024f, l0.wUp().getFloat(0));
            k += 2 * 384;
            assertEquals(k / 1024f, w.outputNorm().getFloat(0));
            k += 16 + 8 * 4;
            assertEquals(k / 1024f, w.classifier().getFloat(0));
            assertEquals((n - 1) / 1024f, w.classifier().getFloat(12 * 16 - 1));
            assertNull(w.ropeFreqFactors());
        }
    }

    @Test
    void positiveVocabularySharesTheClassifier() throws IOException {
        long n = floats(8, 8, 1, 8, 5, 4, 4, true);
        Path file = Files.write(dir.resolve("shared.bin"), checkpoint(8, 8, 1, 2, 2, 5, 4, n));
        try (LlamaWeights w = Llama2cCheckpoint.load(file, Llama2cHeader.read(file), ProgressListener.NONE)) {
            assertSame(w.tokenEmbedding(), w.classifier());
        }
    }

    @Test
    void fileSizeMustMatchTheHeader() throws IOException {
        long n = floats(8, 8, 1, 8, 5, 4, 4, true);
        byte[] good = checkpoint(8, 8, 1, 2, 2, 5, 4, n);
        assertFails("short.bin", Arrays.copyOf(good, good.length - 4), "truncated file", "implies " + good.length);
        assertFails("long.bin", Arrays.copyOf(good, good.length + 8), "unexpected file size",
                "the file has " + (good.length + 8));
        assertFails("tiny.bin", new byte[10], "truncated file", "28-byte header");
        assertFails("zero.bin", checkpoint(0, 8, 1, 2, 2, 5, 4, 0), "dim = 0");
        assertFails("heads.bin", checkpoint(8, 8, 1, 3, 3, 5, 4, 0), "embedding length", "head count 3");
        // An even embedding length, so that the head size is valid and the size check speaks.
        int max = Integer.MAX_VALUE;
        assertFails("huge.bin", checkpoint(max - 1, max, max, 1, 1, 5, 4, 0), "more than 2^63 bytes");
        byte[] versioned = checkpoint(0x616b3432, 1, 1, 1, 1, 1, 1, 0);
        assertFails("v1.bin", versioned, "export format version 1 is not supported");
    }

    private void assertFails(String name, byte[] bytes, String... parts) throws IOException {
        Path file = Files.write(dir.resolve(name), bytes);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Llama2cHeader.read(file));
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        for (String part : parts) assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    @Test
    void findsTheTokenizerBesideTheCheckpoint() throws IOException {
        Path model = Files.write(dir.resolve("m.bin"), new byte[0]);
        assertTrue(Llama2cCheckpoint.findTokenizer(model, 512).isEmpty());
        Path tok = Files.write(dir.resolve("tok512.bin"), new byte[0]);
        assertEquals(tok, Llama2cCheckpoint.findTokenizer(model, 512).orElseThrow());
        assertTrue(Llama2cCheckpoint.findTokenizer(model, 4096).isEmpty());
        Path generic = Files.write(dir.resolve("tokenizer.bin"), new byte[0]);
        assertEquals(generic, Llama2cCheckpoint.findTokenizer(model, 4096).orElseThrow());
    }

    @Test
    void stories260K() throws IOException {
        Path file = SharedData.file("models/stories260K.bin").orElse(null);
        Assumptions.assumeTrue(file != null, "shared data models/stories260K.bin is absent");
        Llama2cHeader header = Llama2cHeader.read(file);
        LlamaConfig c = header.config(file.toString());
        assertEquals(64, c.dim());
        assertEquals(5, c.numLayers());
        assertEquals(8, c.numHeads());
        assertEquals(4, c.numKvHeads());
        assertEquals(512, c.vocabSize());
        assertEquals(512, c.contextLength());
        assertEquals(172, c.hiddenDim());
        assertTrue(header.sharedClassifier());
        ByteBuffer raw = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        try (LlamaWeights w = Llama2cCheckpoint.load(file, header, ProgressListener.NONE)) {
            assertEquals(5, w.layers().size());
            assertArrayEquals(new long[] {512, 64}, w.tokenEmbedding().shape());
            assertArrayEquals(new long[] {32, 64}, w.layers().get(4).wk().shape());
            assertArrayEquals(new long[] {172, 64}, w.layers().get(4).wGate().shape());
            assertEquals(raw.getFloat(28), w.tokenEmbedding().getFloat(0));
            assertEquals(raw.getFloat(28 + 4 * (512 * 64 + 3)), w.layers().get(0).attentionNorm().getFloat(3));
            double normMean = 0;
            for (int i = 0; i < 64; i++) normMean += w.outputNorm().getFloat(i) / 64;
            assertTrue(normMean > 0.5 && normMean < 10, "trained RMSNorm weights are positive and moderate: " + normMean);
        }
    }
}
