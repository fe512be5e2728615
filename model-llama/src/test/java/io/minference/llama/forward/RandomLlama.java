package io.minference.llama.forward;

import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.LlamaWeights;
import io.minference.llama.tokenizer.CharTokenizer;
import io.minference.runtime.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/** Small models with random weights, scaled so that activations stay near unit size through the layers. */
public final class RandomLlama {
    private RandomLlama() {
    }

    /** dim 64, FFN 96, 2 layers, 4 heads, 2 KV heads, vocabulary 97. */
    public static LlamaConfig smallConfig(int contextLength) {
        return new LlamaConfig(64, 96, 2, 4, 2, 97, contextLength, 10000f, 1e-5f);
    }

    /** A {@link #smallConfig} model of random weights with a one-token-per-character tokenizer and no stop token. */
    public static LlamaModel charModel(int contextLength, long seed) {
        LlamaConfig config = smallConfig(contextLength);
        return new LlamaModel("test:random", config, weights(config, seed, false, false),
                new CharTokenizer(config.vocabSize(), Set.of()));
    }

    public static LlamaWeights weights(LlamaConfig c, long seed, boolean sharedClassifier, boolean ropeFactors) {
        SplittableRandom random = new SplittableRandom(seed);
        int queryDim = c.numHeads() * c.headDim();
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            layers.add(new LayerWeights(
                    norm(random, c.dim()),
                    matrix(random, queryDim, c.dim()),
                    matrix(random, c.kvDim(), c.dim()),
                    matrix(random, c.kvDim(), c.dim()),
                    matrix(random, c.dim(), queryDim),
                    norm(random, c.dim()),
                    matrix(random, c.hiddenDim(), c.dim()),
                    matrix(random, c.dim(), c.hiddenDim()),
                    matrix(random, c.hiddenDim(), c.dim())));
        }
        Tensor embedding = uniform(random, 1.0, c.vocabSize(), c.dim());
        Tensor classifier = sharedClassifier ? embedding : matrix(random, c.vocabSize(), c.dim());
        float[] factors = null;
        if (ropeFactors) {
            factors = new float[c.headDim() / 2];
            for (int i = 0; i < factors.length; i++) factors[i] = 1 + (float) random.nextDouble() * 8;
        }
        return new LlamaWeights(embedding, layers, norm(random, c.dim()), classifier, factors);
    }

    private static Tensor matrix(SplittableRandom random, int rows, int cols) {
        return uniform(random, 1.7 / Math.sqrt(cols), rows, cols);
    }

    private static Tensor norm(SplittableRandom random, int dim) {
        float[] v = new float[dim];
        for (int i = 0; i < dim; i++) v[i] = (float) (0.5 + random.nextDouble());
        return Tensor.ofFloats(v, dim);
    }

    private static Tensor uniform(SplittableRandom random, double scale, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) v[i] = (float) ((random.nextDouble() * 2 - 1) * scale);
        return Tensor.ofFloats(v, rows, cols);
    }
}
