package io.minference.llama.sampling;

/** The most likely token; among equal logits, the lowest id. */
public final class GreedySampler implements Sampler {
    @Override
    public int sample(float[] logits) {
        return argmax(logits);
    }

    public static int argmax(float[] logits) {
        if (logits.length == 0) throw new IllegalArgumentException("no logits to sample from");
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) best = i;
        }
        return best;
    }
}
