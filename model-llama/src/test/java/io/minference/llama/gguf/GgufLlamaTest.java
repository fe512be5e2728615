package io.minference.llama.gguf;

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
import io.minference.llama.gguf.GgufWriter.ArrayValue;
import io.minference.llama.load.ModelFormatException;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A small LLaMA written in llama.cpp's GGUF layout, read back as config and weights. */
class GgufLlamaTest {
    private static final int DIM = 64;
    private static final int HEADS = 4;
    private static final int KV_HEADS = 2;
    private static final int KV_DIM = KV_HEADS * DIM / HEADS;
    private static final int HIDDEN = 96;
    private static final int LAYERS = 2;
    private static final int VOCAB = 10;

    @TempDir
    Path dir;

    /** Builds the file and remembers every tensor's values in ggml order. */
    private static final class TinyLlama {
        final Map<String, float[]> values = new HashMap<>();
        final GgufWriter writer = new GgufWriter();
        final Random random = new Random(42);
        final Map<String, long[]> overrides = new HashMap<>();
        final List<String> omitted = new ArrayList<>();

        TinyLlama metadata(boolean withKvHeads, boolean withRopeBase) {
            writer.putString("general.architecture", "llama")
                    .putUint32("llama.context_length", 256)
                    .putUint32("llama.embedding_length", DIM)
                    .putUint32("llama.block_count", LAYERS)
                    .putUint32("llama.feed_forward_length", HIDDEN)
                    .putUint32("llama.attention.head_count", HEADS)
                    .putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5);
            if (withKvHeads) writer.putUint32("llama.attention.head_count_kv", KV_HEADS);
            if (withRopeBase) writer.putFloat32("llama.rope.freq_base", 500000);
            List<String> tokens = new ArrayList<>();
            for (int i = 0; i < VOCAB; i++) tokens.add("t" + i);
            writer.putString("tokenizer.ggml.model", "gpt2")
                    .put("tokenizer.ggml.tokens", GgufType.ARRAY, new ArrayValue(GgufType.STRING, tokens));
            return this;
        }

        TinyLlama tensor(String name, GgmlType type, long... ne) {
            if (omitted.contains(name)) return this;
            long[] written = overrides.getOrDefault(name, ne);
            float[] v = new float[Math.toIntExact(Tensor.elementCount(written))];
            for (int i = 0; i < v.length; i++) v[i] = random.nextFloat() - 0.5f;
            byte[] data = TestQuantizer.encode(type, v);
            if (type == GgmlType.F16) {
                for (int i = 0; i < v.length; i++) v[i] = Float.float16ToFloat(Float.floatToFloat16(v[i]));
            }
            values.put(name, v);
            writer.tensor(name, type, written, data);
            return this;
        }

        TinyLlama tensors(boolean withOutput, boolean withRopeFreqs) {
            tensor("token_embd.weight", GgmlType.F16, DIM, VOCAB);
            for (int l = 0; l < LAYERS; l++) {
                String p = "blk." + l + ".";
                tensor(p + "attn_norm.weight", GgmlType.F32, DIM);
                tensor(p + "attn_q.weight", GgmlType.F32, DIM, DIM);
                tensor(p + "attn_k.weight", GgmlType.F32, DIM, KV_DIM);
                tensor(p + "attn_v.weight", GgmlType.F32, DIM, KV_DIM);
                tensor(p + "attn_output.weight", GgmlType.F32, DIM, DIM);
                tensor(p + "ffn_norm.weight", GgmlType.F32, DIM);
                tensor(p + "ffn_gate.weight", GgmlType.F16, DIM, HIDDEN);
                tensor(p + "ffn_up.weight", GgmlType.F32, DIM, HIDDEN);
                tensor(p + "ffn_down.weight", GgmlType.F32, HIDDEN, DIM);
            }
            tensor("output_norm.weight", GgmlType.F32, DIM);
            if (withOutput) tensor("output.weight", GgmlType.F32, DIM, VOCAB);
            if (withRopeFreqs) tensor("rope_freqs.weight", GgmlType.F32, DIM / HEADS / 2);
            return this;
        }

        Path write(Path file) throws IOException {
            return writer.write(file);
        }
    }

    private static void assertValues(float[] expected, Tensor actual) {
        assertArrayEquals(expected, actual.toFloatArray());
    }

    @Test
    void readsConfigAndWeightsInLayerWeightsLayout() throws IOException {
        TinyLlama model = new TinyLlama().metadata(true, true).tensors(true, true);
        Path file = model.write(dir.resolve("tiny.gguf"));
        AtomicLong lastDone = new AtomicLong();
        AtomicLong lastTotal = new AtomicLong();
        ProgressListener progress = (stage, done, total) -> {
            assertEquals("loading", stage);
            assertTrue(done >= lastDone.get() && done <= total);
            lastDone.set(done);
            lastTotal.set(total);
        };
        try (GgufFile gguf = GgufFile.open(file)) {
            LlamaConfig config = GgufLlama.readConfig(gguf);
            assertEquals(new LlamaConfig(DIM, HIDDEN, LAYERS, HEADS, KV_HEADS, VOCAB, 256, 500000f, 1e-5f), config);
            try (LlamaWeights w = GgufLlama.readWeights(gguf, config, progress)) {
                assertEquals(lastTotal.get(), lastDone.get());
                assertTrue(lastTotal.get() > 0);
                assertFalse(w.sharedClassifier());
                assertArrayEquals(new long[] {VOCAB, DIM}, w.tokenEmbedding().shape());
                assertValues(model.values.get("token_embd.weight"), w.tokenEmbedding());
                assertValues(model.values.get("output.weight"), w.classifier());
                assertValues(model.values.get("output_norm.weight"), w.outputNorm());
                assertArrayEquals(model.values.get("rope_freqs.weight"), w.ropeFreqFactors());
                assertEquals(LAYERS, w.layers().size());
                LayerWeights layer = w.layers().get(1);
                assertArrayEquals(new long[] {DIM, DIM}, layer.wq().shape());
                assertArrayEquals(new long[] {KV_DIM, DIM}, layer.wk().shape());
                assertArrayEquals(new long[] {KV_DIM, DIM}, layer.wv().shape());
                assertArrayEquals(new long[] {HIDDEN, DIM}, layer.wGate().shape());
                assertArrayEquals(new long[] {DIM, HIDDEN}, layer.wDown().shape());
                assertArrayEquals(new long[] {HIDDEN, DIM}, layer.wUp().shape());
                assertValues(model.values.get("blk.1.attn_q.weight"), layer.wq());
                assertValues(model.values.get("blk.1.attn_k.weight"), layer.wk());
                assertValues(model.values.get("blk.1.ffn_gate.weight"), layer.wGate());
                assertValues(model.values.get("blk.1.ffn_down.weight"), layer.wDown());
                assertValues(model.values.get("blk.1.ffn_up.weight"), layer.wUp());
                assertValues(model.values.get("blk.1.attn_norm.weight"), layer.attentionNorm());
                // Row-major [out, in]: element (o, i) of attn_k is ggml's ne0 = i, ne1 = o.
                int o = 7;
                int i = 33;
                assertEquals(model.values.get("blk.1.attn_k.weight")[o * DIM + i], layer.wk().getFloat(o * DIM + i));
            }
        }
    }

    @Test
    void defaultsAndSharedClassifier() throws IOException {
        Path file = new TinyLlama().metadata(false, false).tensors(false, false).write(dir.resolve("shared.gguf"));
        try (GgufFile gguf = GgufFile.open(file)) {
            assertTrue(GgufLlama.sharedClassifier(gguf));
            assertFalse(GgufLlama.tensorNames(gguf, GgufLlama.readConfig(gguf)).contains("output.weight"));
        }
        // Without head_count_kv every head has its own KV head, so attn_k is [DIM, DIM]: a shape error here.
        try (GgufFile gguf = GgufFile.open(file)) {
            LlamaConfig config = GgufLlama.readConfig(gguf);
            assertEquals(HEADS, config.numKvHeads());
            assertEquals(10000f, config.ropeTheta());
            ModelFormatException e = assertThrows(ModelFormatException.class,
                    () -> GgufLlama.readWeights(gguf, config, ProgressListener.NONE));
            assertTrue(e.getMessage().contains("tensor 'blk.0.attn_k.weight' has dimensions [64, 32], expected [64, 64]"),
                    e.getMessage());
        }
    }

    @Test
    void sharedClassifierIsTheEmbedding() throws IOException {
        Path file = new TinyLlama().metadata(true, true).tensors(false, false).write(dir.resolve("shared.gguf"));
        try (GgufFile gguf = GgufFile.open(file);
             LlamaWeights w = GgufLlama.readWeights(gguf, GgufLlama.readConfig(gguf), ProgressListener.NONE)) {
            assertSame(w.tokenEmbedding(), w.classifier());
            assertNull(w.ropeFreqFactors());
        }
    }

    @Test
    void wrongOrMissingTensorsFailClearly() throws IOException {
        TinyLlama wrong = new TinyLlama();
        wrong.overrides.put("blk.1.ffn_down.weight", new long[] {DIM, HIDDEN});
        Path wrongFile = wrong.metadata(true, true).tensors(true, false).write(dir.resolve("wrong.gguf"));
        assertReadFails(wrongFile, "tensor 'blk.1.ffn_down.weight' has dimensions [64, 96], expected [96, 64]");

        TinyLlama missing = new TinyLlama();
        missing.omitted.add("blk.0.ffn_up.weight");
        Path missingFile = missing.metadata(true, true).tensors(true, false).write(dir.resolve("missing.gguf"));
        assertReadFails(missingFile, "missing tensor 'blk.0.ffn_up.weight'");
    }

    private static void assertReadFails(Path file, String expected) {
        try (GgufFile gguf = GgufFile.open(file)) {
            LlamaConfig config = GgufLlama.readConfig(gguf);
            ModelFormatException e = assertThrows(ModelFormatException.class,
                    () -> GgufLlama.readWeights(gguf, config, ProgressListener.NONE));
            assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
            assertTrue(e.getMessage().contains(expected), e.getMessage());
        }
    }

    @Test
    void otherArchitecturesAndMissingKeysFailClearly() throws IOException {
        Path qwen = new GgufWriter().putString("general.architecture", "qwen2").write(dir.resolve("qwen.gguf"));
        assertConfigFails(qwen, "architecture 'qwen2' is not supported");
        Path bare = new GgufWriter().putString("general.architecture", "llama").write(dir.resolve("bare.gguf"));
        assertConfigFails(bare, "missing metadata key 'llama.attention.head_count'");
        TinyLlama partial = new TinyLlama().metadata(true, true);
        partial.writer.putUint32("llama.rope.dimension_count", 8);
        assertConfigFails(partial.write(dir.resolve("partial.gguf")), "partial RoPE is not supported");
    }

    private static void assertConfigFails(Path file, String expected) {
        try (GgufFile gguf = GgufFile.open(file)) {
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> GgufLlama.readConfig(gguf));
            assertTrue(e.getMessage().contains(expected), e.getMessage());
            assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        }
    }

    @Test
    void tokenizerModelsOtherThanGpt2FailClearly() throws IOException {
        Path file = new GgufWriter().putString("tokenizer.ggml.model", "llama").write(dir.resolve("spm.gguf"));
        try (GgufFile gguf = GgufFile.open(file)) {
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> GgufLlama.readTokenizer(gguf));
            assertTrue(e.getMessage().contains("tokenizer model 'llama' is not supported"), e.getMessage());
            assertTrue(e.getMessage().contains("--tokenizer"), e.getMessage());
        }
    }
}
