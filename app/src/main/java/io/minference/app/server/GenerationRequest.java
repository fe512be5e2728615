package io.minference.app.server;

/**
 * The settings of one generation, validated by the request parser.
 *
 * @param maxTokens       generated tokens at most
 * @param temperature     0 for greedy
 * @param topP            nucleus mass in (0, 1]
 * @param attention       dense, minference, a-shape, vertical-slash or block-sparse
 * @param sparseThreshold prompts of at least this many tokens take the sparse path; null for the default
 */
public record GenerationRequest(int maxTokens, double temperature, double topP, long seed, String attention,
                                Integer sparseThreshold) {
}
