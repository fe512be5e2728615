package io.minference.sparse;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The pattern of every head of every layer: what the sparse prefill follows. */
public record PatternPlan(List<List<HeadPattern>> layers) {
    public PatternPlan {
        List<List<HeadPattern>> copy = new ArrayList<>();
        for (List<HeadPattern> heads : layers) copy.add(List.copyOf(heads));
        layers = List.copyOf(copy);
    }

    /** The same pattern for every head. */
    public static PatternPlan uniform(int numLayers, int numHeads, HeadPattern pattern) {
        List<List<HeadPattern>> layers = new ArrayList<>();
        for (int l = 0; l < numLayers; l++) layers.add(Collections.nCopies(numHeads, pattern));
        return new PatternPlan(layers);
    }

    public HeadPattern pattern(int layer, int head) {
        return layers.get(layer).get(head);
    }

    public int numLayers() {
        return layers.size();
    }

    /**
     * Throws a clear exception when this plan does not fit a model of {@code numLayers} layers of {@code numHeads}
     * heads; {@code source} names where the plan came from (a file, or "the default").
     */
    public void requireShape(int numLayers, int numHeads, String source) {
        if (layers.size() != numLayers) {
            throw new IllegalArgumentException(source + ": the pattern configuration has " + layers.size()
                    + " layers, the model " + numLayers);
        }
        for (int l = 0; l < numLayers; l++) {
            if (layers.get(l).size() != numHeads) {
                throw new IllegalArgumentException(source + ": layer " + l + " of the pattern configuration has "
                        + layers.get(l).size() + " heads, the model " + numHeads);
            }
        }
    }
}
