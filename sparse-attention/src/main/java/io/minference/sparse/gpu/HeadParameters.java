package io.minference.sparse.gpu;

import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;

import java.util.List;

/**
 * The patterns of a batch of heads as the small int32 array the estimation kernels read: {@link #STRIDE} words per
 * head slot, {@code [code, a, b, c, d, 0, 0, 0]}. Codes: {@link #DENSE}; {@link #A_SHAPE} (a = sink tokens, b =
 * local tokens); {@link #VERTICAL_SLASH} (a, b = the vertical budget's kind and value, c, d = the slash budget's);
 * {@link #BLOCK_SPARSE} (a, b = the block budget). A budget's kind is {@link #TOP_K} (value = the count) or
 * {@link #MASS} (value = the float bits of gamma).
 */
record HeadParameters(int[] words, int length) {
    static final int STRIDE = 8;
    static final int DENSE = 0;
    static final int A_SHAPE = 1;
    static final int VERTICAL_SLASH = 2;
    static final int BLOCK_SPARSE = 3;
    static final int TOP_K = 0;
    static final int MASS = 1;

    /**
     * Encodes heads {@code [firstHead, firstHead + heads)} of {@code patterns}. (The index's room is not decided
     * here: {@link IndexAssembly}'s counting pass measures what every slot needs.)
     */
    static HeadParameters encode(List<HeadPattern> patterns, int firstHead, int heads, int length) {
        int[] words = new int[heads * STRIDE];
        for (int slot = 0; slot < heads; slot++) {
            HeadPattern pattern = patterns.get(firstHead + slot);
            int at = slot * STRIDE;
            switch (pattern) {
                case HeadPattern.Dense d -> words[at] = DENSE;
                case HeadPattern.AShape a -> {
                    words[at] = A_SHAPE;
                    words[at + 1] = a.sinkTokens();
                    words[at + 2] = a.localTokens();
                }
                case HeadPattern.VerticalSlash vs -> {
                    words[at] = VERTICAL_SLASH;
                    budget(vs.vertical(), words, at + 1);
                    budget(vs.slash(), words, at + 3);
                }
                case HeadPattern.BlockSparse bs -> {
                    words[at] = BLOCK_SPARSE;
                    budget(bs.blocks(), words, at + 1);
                }
                case HeadPattern.Custom c -> throw new IllegalArgumentException("head " + (firstHead + slot)
                        + " uses the custom pattern '" + c.name() + "', which has no GPU index builder");
            }
        }
        return new HeadParameters(words, length);
    }

    private static void budget(Budget budget, int[] words, int at) {
        switch (budget) {
            case Budget.TopK(int count) -> {
                words[at] = TOP_K;
                words[at + 1] = count;
            }
            case Budget.Mass(double gamma) -> {
                words[at] = MASS;
                words[at + 1] = Float.floatToRawIntBits((float) gamma);
            }
        }
    }

    int code(int slot) {
        return words[slot * STRIDE];
    }

    boolean any(int code) {
        for (int slot = 0; slot < words.length / STRIDE; slot++) {
            if (code(slot) == code) return true;
        }
        return false;
    }
}
