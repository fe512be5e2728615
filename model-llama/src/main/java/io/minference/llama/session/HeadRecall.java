package io.minference.llama.session;

import io.minference.sparse.HeadPattern;

/**
 * How one head's sparse pattern covers its real attention on a prompt.
 *
 * @param density       keys attended over causal keys
 * @param recall        the attention mass the pattern keeps
 * @param relativeError of the head's sparse output against dense, norm-wise
 */
public record HeadRecall(int layer, int head, HeadPattern pattern, double density, double recall,
                         double relativeError) {
}
