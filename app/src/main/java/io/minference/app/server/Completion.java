package io.minference.app.server;

import io.minference.llama.generate.GenerationEnergy;
import java.util.List;
import java.util.Objects;

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
 * @param energy        the GPU's joules over the prefill and per generated token, or why they were not measured
 */
public record Completion(String text, int promptTokens, int completionTokens, double prefillSeconds,
                         double decodeTokensPerSecond, String attentionPath, String finishReason,
                         List<TokenLogprob> logprobs, double density, String patterns, GenerationEnergy energy) {
    /** What an engine that measures no energy reports. */
    public static final GenerationEnergy NO_ENERGY = GenerationEnergy.notMeasured("energy: not measured");

    public Completion {
        logprobs = List.copyOf(logprobs);
        Objects.requireNonNull(energy, "energy");
    }

    /** Without log-probabilities. */
    public Completion(String text, int promptTokens, int completionTokens, double prefillSeconds,
                      double decodeTokensPerSecond, String attentionPath, String finishReason) {
        this(text, promptTokens, completionTokens, prefillSeconds, decodeTokensPerSecond, attentionPath,
                finishReason, List.of(), Double.NaN, null, NO_ENERGY);
    }
}
