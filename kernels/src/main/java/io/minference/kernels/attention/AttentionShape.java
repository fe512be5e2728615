package io.minference.kernels.attention;

/**
 * The head layout of one attention layer: {@code numHeads} query heads share {@code numKvHeads} key/value heads
 * (grouped-query attention), query head h reading KV head h / groupSize().
 */
public record AttentionShape(int numHeads, int numKvHeads, int headDim) {
    public AttentionShape {
        if (numHeads <= 0 || numKvHeads <= 0 || headDim <= 0 || numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("invalid attention shape: " + numHeads + " heads, " + numKvHeads
                    + " KV heads (must divide the heads), head size " + headDim);
        }
    }

    public int groupSize() {
        return numHeads / numKvHeads;
    }

    /** Row length of queries and of the attention output. */
    public int queryDim() {
        return numHeads * headDim;
    }

    /** Row length of the key and value caches. */
    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** The 1/sqrt(d) that scales query·key. */
    public float scale() {
        return (float) (1.0 / Math.sqrt(headDim));
    }
}
