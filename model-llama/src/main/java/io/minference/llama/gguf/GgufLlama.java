package io.minference.llama.gguf;

import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.llama.load.ModelFormatException;
import io.minference.llama.tokenizer.BpeTokenizer;
import io.minference.llama.tokenizer.Tokenizer;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A LLaMA model in a GGUF file, as llama.cpp writes it: hyper-parameters under llama.*, tensors named token_embd,
 * blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down}, output_norm and
 * output (absent when the classifier is shared with the embedding), and optionally rope_freqs for Llama-3.1 RoPE
 * scaling. A matrix of ggml dimensions [in, out] is row-major [out, in], as {@link LayerWeights} wants it; the Q and
 * K rows that llama.cpp permuted for pairwise RoPE are kept as they are.
 */
public final class GgufLlama {
    private static final List<String> LAYER_PARTS = List.of("attn_norm", "attn_q", "attn_k", "attn_v",
            "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down");

    private GgufLlama() {
    }

    /** Reads the hyper-parameters, failing clearly on a missing key or a model other than LLaMA. */
    public static LlamaConfig readConfig(GgufFile gguf) {
        GgufMetadata meta = gguf.metadata();
        String architecture = meta.requireString("general.architecture");
        if (!architecture.equals("llama")) {
            throw new ModelFormatException(gguf.source(), "architecture '" + architecture
                    + "' is not supported (only llama)");
        }
        int heads = meta.requireInt("llama.attention.head_count");
        LlamaConfig config;
        try {
            config = new LlamaConfig(
                    meta.requireInt("llama.embedding_length"),
                    meta.requireInt("llama.feed_forward_length"),
                    meta.requireInt("llama.block_count"),
                    heads,
                    meta.intOr("llama.attention.head_count_kv", heads),
                    vocabularySize(gguf),
                    meta.requireInt("llama.context_length"),
                    meta.floatOr("llama.rope.freq_base", 10000f),
                    meta.requireFloat("llama.attention.layer_norm_rms_epsilon"));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(gguf.source(), e.getMessage(), e);
        }
        int ropeDims = meta.intOr("llama.rope.dimension_count", config.headDim());
        if (ropeDims != config.headDim()) {
            throw new ModelFormatException(gguf.source(), "llama.rope.dimension_count " + ropeDims
                    + " differs from the head dimension " + config.headDim() + ": partial RoPE is not supported");
        }
        return config;
    }

    private static int vocabularySize(GgufFile gguf) {
        GgufMetadata meta = gguf.metadata();
        if (meta.contains("tokenizer.ggml.tokens")) return meta.requireArray("tokenizer.ggml.tokens").length();
        if (meta.contains("llama.vocab_size")) return meta.requireInt("llama.vocab_size");
        return meta.requireStringArray("tokenizer.ggml.tokens").size();
    }

    /** Whether the file has no separate output.weight, so that the classifier is the token embedding. */
    public static boolean sharedClassifier(GgufFile gguf) {
        return gguf.tensor("output.weight").isEmpty();
    }

    /** Names of the tensors {@link #readWeights} reads, in reading order. */
    public static List<String> tensorNames(GgufFile gguf, LlamaConfig config) {
        List<String> names = new ArrayList<>();
        names.add("token_embd.weight");
        for (int l = 0; l < config.numLayers(); l++) {
            for (String part : LAYER_PARTS) names.add("blk." + l + "." + part + ".weight");
        }
        names.add("output_norm.weight");
        if (!sharedClassifier(gguf)) names.add("output.weight");
        if (gguf.tensor("rope_freqs.weight").isPresent()) names.add("rope_freqs.weight");
        return names;
    }

    /**
     * Checks every tensor's shape and type against {@code config} and maps them in place: matrices in their stored
     * type (quantized blocks, F16, BF16 or F32), which the CPU backend computes on where they lie; the small norm
     * vectors converted to F32. The weights take ownership of {@code gguf} and close it with themselves. Reports
     * progress as stage "loading" in bytes of the file.
     */
    public static LlamaWeights mapWeights(GgufFile gguf, LlamaConfig config, ProgressListener progress) {
        return readWeights(gguf, config, progress, true);
    }

    /**
     * Checks every tensor's shape against {@code config} and converts them all to new F32 tensors, reporting
     * progress as stage "loading" in bytes of the file. The caller still owns {@code gguf}.
     */
    public static LlamaWeights readWeights(GgufFile gguf, LlamaConfig config, ProgressListener progress) {
        return readWeights(gguf, config, progress, false);
    }

    private static LlamaWeights readWeights(GgufFile gguf, LlamaConfig config, ProgressListener progress,
                                            boolean mapped) {
        long total = 0;
        for (String name : tensorNames(gguf, config)) total += gguf.requireTensor(name).byteSize();
        try (Loader loader = new Loader(gguf, config, progress, total, mapped)) {
            int dim = config.dim();
            int kvDim = config.kvDim();
            int hidden = config.hiddenDim();
            Tensor embedding = loader.matrix("token_embd.weight", dim, config.vocabSize());
            List<LayerWeights> layers = new ArrayList<>();
            for (int l = 0; l < config.numLayers(); l++) {
                String p = "blk." + l + ".";
                layers.add(new LayerWeights(
                        loader.load(p + "attn_norm.weight", dim),
                        loader.matrix(p + "attn_q.weight", dim, dim),
                        loader.matrix(p + "attn_k.weight", dim, kvDim),
                        loader.matrix(p + "attn_v.weight", dim, kvDim),
                        loader.matrix(p + "attn_output.weight", dim, dim),
                        loader.load(p + "ffn_norm.weight", dim),
                        loader.matrix(p + "ffn_gate.weight", dim, hidden),
                        loader.matrix(p + "ffn_down.weight", hidden, dim),
                        loader.matrix(p + "ffn_up.weight", dim, hidden)));
            }
            Tensor outputNorm = loader.load("output_norm.weight", dim);
            Tensor classifier = sharedClassifier(gguf) ? embedding
                    : loader.matrix("output.weight", dim, config.vocabSize());
            float[] ropeFreqFactors = null;
            if (gguf.tensor("rope_freqs.weight").isPresent()) {
                try (Tensor factors = loader.load("rope_freqs.weight", config.headDim() / 2)) {
                    ropeFreqFactors = factors.toFloatArray();
                }
            }
            loader.done();
            return mapped ? new LlamaWeights(embedding, layers, outputNorm, classifier, ropeFreqFactors, gguf)
                    : new LlamaWeights(embedding, layers, outputNorm, classifier, ropeFreqFactors);
        }
    }

    /** Loads tensors, and frees them all if a later one fails. */
    private static final class Loader implements AutoCloseable {
        private final GgufFile gguf;
        private final LlamaConfig config;
        private final ProgressListener progress;
        private final long total;
        private final boolean mapped;
        private final List<Tensor> loaded = new ArrayList<>();
        private long done;
        private boolean complete;

        Loader(GgufFile gguf, LlamaConfig config, ProgressListener progress, long total, boolean mapped) {
            this.gguf = gguf;
            this.config = config;
            this.progress = progress;
            this.total = total;
            this.mapped = mapped;
        }

        /** A weight matrix: mapped in place in its stored type, or converted to F32. */
        Tensor matrix(String name, long... ne) {
            GgufTensorInfo info = checked(name, ne);
            if (!mapped) return converted(info);
            Tensor tensor = gguf.mapped(info);
            done += info.byteSize();
            progress.progress("loading", done, total);
            return tensor;
        }

        /** A vector (a norm's weights, RoPE factors): small, converted to F32. */
        Tensor load(String name, long... ne) {
            return converted(checked(name, ne));
        }

        /** @param ne the expected dimensions in ggml order */
        private GgufTensorInfo checked(String name, long... ne) {
            GgufTensorInfo info = gguf.requireTensor(name);
            if (!Arrays.equals(info.ne(), ne)) {
                throw new ModelFormatException(gguf.source(), "tensor '" + name + "' has dimensions "
                        + Arrays.toString(info.ne()) + ", expected " + Arrays.toString(ne) + " for " + config);
            }
            return info;
        }

        private Tensor converted(GgufTensorInfo info) {
            Tensor tensor = gguf.loadF32(info);
            loaded.add(tensor);
            done += info.byteSize();
            progress.progress("loading", done, total);
            return tensor;
        }

        void done() {
            complete = true;
        }

        @Override
        public void close() {
            if (!complete) loaded.forEach(Tensor::close);
        }
    }

    /**
     * The tokenizer stored in the metadata. Only byte-level BPE ("gpt2", as LLaMA 3 uses) is read; other models need
     * a tokenizer file.
     */
    public static Tokenizer readTokenizer(GgufFile gguf) {
        GgufMetadata meta = gguf.metadata();
        String model = meta.requireString("tokenizer.ggml.model");
        if (!model.equals("gpt2")) {
            throw new ModelFormatException(gguf.source(), "tokenizer model '" + model
                    + "' is not supported (only gpt2, byte-level BPE): pass --tokenizer with a tokenizer file");
        }
        int[] tokenTypes = meta.contains("tokenizer.ggml.token_type")
                ? meta.requireIntArray("tokenizer.ggml.token_type") : null;
        try {
            return BpeTokenizer.fromVocabulary(
                    meta.requireStringArray("tokenizer.ggml.tokens"),
                    meta.requireStringArray("tokenizer.ggml.merges"),
                    tokenTypes,
                    meta.requireInt("tokenizer.ggml.bos_token_id"),
                    meta.requireInt("tokenizer.ggml.eos_token_id"));
        } catch (IllegalArgumentException e) {
            // The vocabulary's own checks know only "GGUF tokenizer metadata"; the file is named here.
            throw new ModelFormatException(gguf.source(), e.getMessage(), e);
        }
    }
}
