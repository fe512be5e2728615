package io.minference.llama.gguf;

import io.minference.llama.LlamaConfig;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Writes a LLaMA GGUF of any shape whose matrices are random Q4_0 blocks (norms ones, no tokenizer), for the memory
 * and load-time tests and benchmarks of real model sizes ({@link #LLAMA_3_8B}) without a real model. Each block's
 * scale keeps |w| below 8 / (8 √in), so activations stay near unit size through a forward pass. The file is written
 * through a mapping, tensor by tensor: the writer holds nothing in proportion to it.
 */
public final class RandomQ4_0Model {
    /** LLaMA-3-8B's shape (4096 wide, 14336-wide MLP, 32 heads over 8 KV heads, 128256 tokens), on one layer. */
    public static final LlamaConfig LLAMA_3_8B = new LlamaConfig(4096, 14336, 1, 32, 8, 128256, 8192, 500000f, 1e-5f);

    private RandomQ4_0Model() {
    }

    /** {@code c}'s shape written to {@code file}, the blocks drawn from {@code seed}. */
    public static Path write(Path file, LlamaConfig c, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        GgufFileWriter out = new GgufFileWriter()
                .put("general.architecture", new GgufValue.Text("llama"))
                .put("llama.embedding_length", u32(c.dim()))
                .put("llama.feed_forward_length", u32(c.hiddenDim()))
                .put("llama.block_count", u32(c.numLayers()))
                .put("llama.attention.head_count", u32(c.numHeads()))
                .put("llama.attention.head_count_kv", u32(c.numKvHeads()))
                .put("llama.vocab_size", u32(c.vocabSize()))
                .put("llama.context_length", u32(c.contextLength()))
                .put("llama.rope.freq_base", new GgufValue.Real(GgufType.FLOAT32, c.ropeTheta()))
                .put("llama.attention.layer_norm_rms_epsilon", new GgufValue.Real(GgufType.FLOAT32, c.rmsEps()));
        long matrixSeed = random.nextLong();
        matrix(out, "token_embd.weight", c.dim(), c.vocabSize(), matrixSeed++);
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "blk." + l + ".";
            norm(out, p + "attn_norm.weight", c.dim());
            matrix(out, p + "attn_q.weight", c.dim(), c.dim(), matrixSeed++);
            matrix(out, p + "attn_k.weight", c.dim(), c.kvDim(), matrixSeed++);
            matrix(out, p + "attn_v.weight", c.dim(), c.kvDim(), matrixSeed++);
            matrix(out, p + "attn_output.weight", c.dim(), c.dim(), matrixSeed++);
            norm(out, p + "ffn_norm.weight", c.dim());
            matrix(out, p + "ffn_gate.weight", c.dim(), c.hiddenDim(), matrixSeed++);
            matrix(out, p + "ffn_up.weight", c.dim(), c.hiddenDim(), matrixSeed++);
            matrix(out, p + "ffn_down.weight", c.hiddenDim(), c.dim(), matrixSeed++);
        }
        norm(out, "output_norm.weight", c.dim());
        matrix(out, "output.weight", c.dim(), c.vocabSize(), matrixSeed);
        out.write(file);
        return file;
    }

    private static GgufValue u32(long v) {
        return new GgufValue.Int(GgufType.UINT32, v);
    }

    private static void norm(GgufFileWriter out, String name, int dim) {
        out.tensor(name, GgmlType.F32, new long[] {dim}, data -> {
            ValueLayout.OfFloat le = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            for (long i = 0; i < dim; i++) data.setAtIndex(le, i, 1f);
        });
    }

    /** Random quants under a scale that keeps |w| below 8 / (8 √in). */
    private static void matrix(GgufFileWriter out, String name, long in, long outRows, long seed) {
        short scale = Float.floatToFloat16((float) (1 / (8 * Math.sqrt(in))));
        out.tensor(name, GgmlType.Q4_0, new long[] {in, outRows}, data -> {
            SplittableRandom random = new SplittableRandom(seed);
            long words = data.byteSize() / 8;
            for (long i = 0; i < words; i++) data.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong());
            for (long i = words * 8; i < data.byteSize(); i++) data.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
            ValueLayout.OfShort le = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            for (long b = 0; b < data.byteSize(); b += 18) data.set(le, b, scale);
        });
    }
}
