package io.minference.llama.synthetic;

import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.llama.synthetic.SyntheticWeights.Kind;
import io.minference.llama.synthetic.SyntheticWeights.TensorKey;
import io.minference.runtime.DType;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Builds a synthetic model's weights. Tensors carry llama.cpp's names (token_embd.weight, blk.N.attn_q.weight, ...),
 * which are also the names the generator hashes.
 */
public final class SyntheticModel {
    private SyntheticModel() {
    }

    /** One tensor of a synthetic model: its name, row-major shape and generator key. */
    public record TensorSpec(String name, long[] shape, TensorKey key) {
        public long elementCount() {
            return Tensor.elementCount(shape);
        }
    }

    /** The model's tensors in build order. */
    public static List<TensorSpec> tensors(SyntheticShape shape) {
        LlamaConfig c = shape.config();
        long seed = shape.seed();
        int layers = c.numLayers();
        List<TensorSpec> specs = new ArrayList<>();
        specs.add(scaled(seed, "token_embd.weight", SyntheticWeights.scale(c.dim(), 0), c.vocabSize(), c.dim()));
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            float input = SyntheticWeights.scale(c.dim(), 0);
            specs.add(norm(seed, p + "attn_norm.weight", c.dim()));
            specs.add(scaled(seed, p + "attn_q.weight", input, c.dim(), c.dim()));
            specs.add(scaled(seed, p + "attn_k.weight", input, c.kvDim(), c.dim()));
            specs.add(scaled(seed, p + "attn_v.weight", input, c.kvDim(), c.dim()));
            specs.add(scaled(seed, p + "attn_output.weight", SyntheticWeights.scale(c.dim(), layers), c.dim(), c.dim()));
            specs.add(norm(seed, p + "ffn_norm.weight", c.dim()));
            specs.add(scaled(seed, p + "ffn_gate.weight", input, c.hiddenDim(), c.dim()));
            specs.add(scaled(seed, p + "ffn_up.weight", input, c.hiddenDim(), c.dim()));
            specs.add(scaled(seed, p + "ffn_down.weight", SyntheticWeights.scale(c.hiddenDim(), layers),
                    c.dim(), c.hiddenDim()));
        }
        specs.add(norm(seed, "output_norm.weight", c.dim()));
        if (!shape.sharedClassifier()) {
            specs.add(scaled(seed, "output.weight", SyntheticWeights.scale(c.dim(), 0), c.vocabSize(), c.dim()));
        }
        return specs;
    }

    private static TensorSpec scaled(long seed, String name, float scale, long... shape) {
        return new TensorSpec(name, shape, TensorKey.of(seed, name, Kind.SCALED, scale));
    }

    private static TensorSpec norm(long seed, String name, long dim) {
        return new TensorSpec(name, new long[] {dim}, TensorKey.of(seed, name, Kind.NORM, 1f));
    }

    /**
     * Allocates and fills every tensor, reporting stage "loading" in tensors done. Tensors are built concurrently
     * and each is filled in parallel: allocation zeroes memory on one thread per tensor, so building one tensor at a
     * time would leave the other cores idle while a large one is zeroed.
     */
    public static LlamaWeights create(SyntheticShape shape, ProgressListener progress) {
        List<TensorSpec> specs = tensors(shape);
        Map<String, Tensor> built = new ConcurrentHashMap<>();
        AtomicInteger done = new AtomicInteger();
        try {
            specs.parallelStream().forEach(spec -> {
                Tensor tensor = Tensor.allocateUninitialized(DType.F32, spec.shape());
                built.put(spec.name(), tensor);
                SyntheticWeights.fill(spec.key(), tensor);
                synchronized (done) {
                    progress.progress("loading", done.incrementAndGet(), specs.size());
                }
            });
        } catch (RuntimeException | Error e) {
            built.values().forEach(Tensor::close);
            throw e;
        }
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < shape.config().numLayers(); l++) {
            String p = "blk." + l + ".";
            layers.add(new LayerWeights(built.get(p + "attn_norm.weight"), built.get(p + "attn_q.weight"),
                    built.get(p + "attn_k.weight"), built.get(p + "attn_v.weight"),
                    built.get(p + "attn_output.weight"), built.get(p + "ffn_norm.weight"),
                    built.get(p + "ffn_gate.weight"), built.get(p + "ffn_down.weight"),
                    built.get(p + "ffn_up.weight")));
        }
        Tensor embedding = built.get("token_embd.weight");
        Tensor classifier = shape.sharedClassifier() ? embedding : built.get("output.weight");
        return new LlamaWeights(embedding, layers, built.get("output_norm.weight"), classifier, null);
    }
}
