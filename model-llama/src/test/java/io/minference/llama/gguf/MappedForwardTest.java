package io.minference.llama.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.llama.forward.LlamaForward;
import io.minference.runtime.DType;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cpu.CpuBackend;
import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model whose matrices are in six block types, read in place from the mapping, computes what the F32 copy of the
 * same file computes: prefill products are exact (the F32 tiles on decoded blocks); decode products dequantize inside
 * the dot product in another order, so logits agree within float rounding and greedy tokens agree. The backend runs
 * the Vector API products only: the AMX tiles' int8 products (Q8_0) quantize the tokens, which moves the logits by
 * more than rounding; {@code AmxMatmulTest} and {@code AmxMatvecTest} bound them.
 */
class MappedForwardTest {
    private static final LlamaConfig CONFIG = new LlamaConfig(256, 512, 2, 4, 2, 300, 64, 10000f, 1e-5f);

    @TempDir
    Path dir;

    @Test
    void mappedBlocksComputeWhatTheF32CopyComputes() throws IOException {
        long seed = System.nanoTime();
        System.out.println("MappedForwardTest seed " + seed);
        Path file = write(dir.resolve("mixed.gguf"), new SplittableRandom(seed));
        try (GgufFile copySource = GgufFile.open(file);
             LlamaWeights f32 = GgufLlama.readWeights(copySource, CONFIG, ProgressListener.NONE);
             LlamaWeights mapped = GgufLlama.mapWeights(GgufFile.open(file), CONFIG, ProgressListener.NONE);
             CpuBackend backend = new CpuBackend(2, false);
             LlamaForward reference = new LlamaForward(CONFIG, f32, backend, 64);
             LlamaForward inPlace = new LlamaForward(CONFIG, mapped, backend, 64)) {
            assertEquals(DType.Q4_K, mapped.layers().get(1).wv().dtype());
            assertEquals(DType.F32, f32.layers().get(1).wv().dtype());
            int[] prompt = new int[20];
            SplittableRandom tokens = new SplittableRandom(seed + 1);
            for (int i = 0; i < prompt.length; i++) prompt[i] = tokens.nextInt(CONFIG.vocabSize());
            float[] expected = reference.prefill(prompt, ProgressListener.NONE);
            float[] actual = inPlace.prefill(prompt, ProgressListener.NONE);
            for (int step = 0; step < 6; step++) {
                assertClose(expected, actual, "step " + step);
                int next = argmax(expected);
                assertEquals(next, argmax(actual), "greedy token at step " + step);
                expected = reference.decode(next);
                actual = inPlace.decode(next);
            }
        }
    }

    private static void assertClose(float[] expected, float[] actual, String where) {
        double scale = 0;
        for (float v : expected) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Float.isFinite(actual[i]), where + ": logit " + i + " is " + actual[i]);
            assertEquals(expected[i], actual[i], 1e-4 * scale, where + ": logit " + i);
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    /** Matrices in F16, BF16, Q8_0, Q4_0, Q4_K and Q6_K (every width a multiple of 256), norms F32. */
    private static Path write(Path file, SplittableRandom random) throws IOException {
        int dim = CONFIG.dim(), kvDim = CONFIG.kvDim(), hidden = CONFIG.hiddenDim();
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "llama")
                .putUint32("llama.context_length", CONFIG.contextLength())
                .putUint32("llama.embedding_length", dim)
                .putUint32("llama.block_count", CONFIG.numLayers())
                .putUint32("llama.feed_forward_length", hidden)
                .putUint32("llama.attention.head_count", CONFIG.numHeads())
                .putUint32("llama.attention.head_count_kv", CONFIG.numKvHeads())
                .putUint32("llama.vocab_size", CONFIG.vocabSize())
                .putFloat32("llama.rope.freq_base", CONFIG.ropeTheta())
                .putFloat32("llama.attention.layer_norm_rms_epsilon", CONFIG.rmsEps());
        tensor(w, random, "token_embd.weight", GgmlType.F16, 1.0, dim, CONFIG.vocabSize());
        for (int l = 0; l < CONFIG.numLayers(); l++) {
            String p = "blk." + l + ".";
            tensor(w, random, p + "attn_norm.weight", GgmlType.F32, 0, dim);
            tensor(w, random, p + "attn_q.weight", GgmlType.Q8_0, dim, dim, dim);
            tensor(w, random, p + "attn_k.weight", GgmlType.Q4_0, dim, dim, kvDim);
            tensor(w, random, p + "attn_v.weight", GgmlType.Q4_K, dim, dim, kvDim);
            tensor(w, random, p + "attn_output.weight", GgmlType.Q6_K, dim, dim, dim);
            tensor(w, random, p + "ffn_norm.weight", GgmlType.F32, 0, dim);
            tensor(w, random, p + "ffn_gate.weight", GgmlType.BF16, dim, dim, hidden);
            tensor(w, random, p + "ffn_up.weight", GgmlType.Q8_0, dim, dim, hidden);
            tensor(w, random, p + "ffn_down.weight", GgmlType.Q4_K, hidden, hidden, dim);
        }
        tensor(w, random, "output_norm.weight", GgmlType.F32, 0, dim);
        tensor(w, random, "output.weight", GgmlType.Q6_K, dim, dim, CONFIG.vocabSize());
        return w.write(file);
    }

    /**
     * Uniform values over ±1.7/√fanIn (a matrix, so that activations stay near unit size), ±1 for the embedding
     * (fanIn 1), or 0.5..1.5 for a norm (fanIn 0).
     */
    private static void tensor(GgufWriter w, SplittableRandom random, String name, GgmlType type, double fanIn,
                               long... ne) {
        float[] v = new float[Math.toIntExact(ne.length == 1 ? ne[0] : ne[0] * ne[1])];
        for (int i = 0; i < v.length; i++) {
            v[i] = fanIn == 0 ? (float) random.nextDouble(0.5, 1.5)
                    : (float) (random.nextDouble(-1, 1) * 1.7 / Math.sqrt(fanIn));
        }
        w.tensor(name, type, ne, TestQuantizer.encode(type, v));
    }
}
