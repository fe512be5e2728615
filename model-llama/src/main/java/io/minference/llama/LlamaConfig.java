package io.minference.llama;

/**
 * A LLaMA model's hyper-parameters, as read from a model file or named by a synthetic shape.
 *
 * @param dim           embedding length (model width)
 * @param hiddenDim     feed-forward length
 * @param numLayers     transformer blocks
 * @param numHeads      query heads
 * @param numKvHeads    key/value heads (grouped-query attention when fewer than numHeads)
 * @param vocabSize     vocabulary size
 * @param contextLength longest sequence the model supports, prompt and generated tokens together
 * @param ropeTheta     RoPE base
 * @param rmsEps        RMSNorm epsilon
 */
public record LlamaConfig(int dim, int hiddenDim, int numLayers, int numHeads, int numKvHeads, int vocabSize,
                          int contextLength, float ropeTheta, float rmsEps) {

    public LlamaConfig {
        require(dim > 0, "embedding length", dim);
        require(hiddenDim > 0, "feed-forward length", hiddenDim);
        require(numLayers > 0, "block count", numLayers);
        require(numHeads > 0, "head count", numHeads);
        require(numKvHeads > 0 && numHeads % numKvHeads == 0, "KV head count (must divide the head count "
                + numHeads + ")", numKvHeads);
        require(dim % numHeads == 0, "embedding length (must be a multiple of the head count " + numHeads + ")", dim);
        // RoPE rotates pairs of a head's dimensions: an odd head size would leave one unrotated, or read past it.
        require(dim / numHeads % 2 == 0, "head size (embedding length " + dim + " / " + numHeads
                + " heads; RoPE needs it even)", dim / numHeads);
        require(vocabSize > 0, "vocabulary size", vocabSize);
        require(contextLength > 0, "context length", contextLength);
        require(ropeTheta > 0, "RoPE base", ropeTheta);
        require(rmsEps > 0, "RMS epsilon", rmsEps);
    }

    private static void require(boolean ok, String what, Number value) {
        if (!ok) throw new IllegalArgumentException("invalid " + what + ": " + value);
    }

    public int headDim() {
        return dim / numHeads;
    }

    public int kvDim() {
        return numKvHeads * headDim();
    }

    /** Query heads that share one KV head. */
    public int groupSize() {
        return numHeads / numKvHeads;
    }

    /** Parameter count of the transformer blocks, embedding and classifier (shared or not, counted once each). */
    public long parameterCount(boolean sharedClassifier) {
        long perLayer = 2L * dim + (long) dim * dim * 2 + (long) dim * kvDim() * 2 + 3L * dim * hiddenDim;
        long embedding = (long) vocabSize * dim;
        return perLayer * numLayers + dim + embedding + (sharedClassifier ? 0 : embedding);
    }
}
