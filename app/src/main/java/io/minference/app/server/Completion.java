package io.minference.app.server;

import java.util.List;

/**
 * The outcome of one generation.
 *
 * @param attentionPath the prefill attention that actually ran ("dense", or the sparse mode)
 * @param finishReason  OpenAI's words: "stop" (a stop token or a stop sequence) or "length" (max tokens, or the
 *                      context is full)
 * @param logprobs      each generated token's log-probabilities, when the request asked for them; else empty
 * @param density       the fraction of the causal area the prefill computed (1 for dense; NaN when unknown)
 * @param patterns      what the sparse prefill's patterns came from (a pattern file, or the default budget, e.g.
 *                      "every head vertical-slash 1000/6096"); null for a dense prefill
 */
public record Completion(String text, int promptTokens, int completionTokens, double prefillSeconds,
                         double decodeTokensPerSecond, String attentionPath, String finishReason,
                         List<TokenLogprob> logprobs, double density, String patterns) {
    public Completion {
        logprobs = List.copyOf(logprobs);
    }

    /** Without log-probabilities. */
    public Completion(String text, int promptTokens, int completionTokens, double prefillSeconds,
                      double decodeTokensPerSecond, String attentionPath, String finishReason) {
        this(text, promptTokens, completionTokens, prefillSeconds, decodeTokensPerSecond, attentionPath,
                finishReason, List.of(), Double.NaN, null);
    }
}
