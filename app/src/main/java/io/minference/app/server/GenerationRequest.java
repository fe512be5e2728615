package io.minference.app.server;

import java.util.List;

/**
 * The settings of one generation, validated by the request parser.
 *
 * @param maxTokens         generated tokens at most
 * @param temperature       0 for greedy
 * @param topP              nucleus mass in (0, 1]
 * @param attention         dense, minference, a-shape, vertical-slash or block-sparse
 * @param sparseThreshold   prompts of at least this many tokens take the sparse path; null for the default
 * @param stop              up to 4 stop sequences, cut from the text
 * @param topLogprobs       alternatives listed per token when log-probabilities are asked for, or -1 for none
 * @param maxTokensExplicit whether the client gave max_tokens (then it must fit the context the prompt leaves; the
 *                          default is cut to it silently)
 */
public record GenerationRequest(int maxTokens, double temperature, double topP, long seed, String attention,
                                Integer sparseThreshold, List<String> stop, int topLogprobs,
                                boolean maxTokensExplicit) {
    public GenerationRequest {
        stop = List.copyOf(stop);
    }

    /** No stop sequences, no log-probabilities, max tokens as a default. */
    public GenerationRequest(int maxTokens, double temperature, double topP, long seed, String attention,
                             Integer sparseThreshold) {
        this(maxTokens, temperature, topP, seed, attention, sparseThreshold, List.of(), -1, false);
    }

    public boolean wantsLogprobs() {
        return topLogprobs >= 0;
    }
}
