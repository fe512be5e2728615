package io.minference.llama.generate;

import io.minference.llama.session.TokenLogprobs;
import java.util.List;
import java.util.Objects;

/**
 * The outcome of one generation.
 *
 * @param generated    the generated ids, prompt excluded (those after a matched stop sequence included)
 * @param promptTokens prompt length in tokens
 * @param prefillNanos time spent on the prompt
 * @param decodeNanos  time spent generating
 * @param stopReason   "eos" (a stop token was produced), "stop" (a stop sequence was matched), "length" (max tokens)
 *                     or "context" (context full)
 * @param attention    which prefill ran: {@link #DENSE}, or the sparse mode's name (minference, a-shape, ...)
 * @param text         the generated text, a matched stop sequence and what follows it cut; empty without a tokenizer
 * @param density      the fraction of the causal area the prefill computed (1 for dense; NaN where not measured)
 * @param logprobs     each generated token's log-probabilities when they were asked for, otherwise empty
 * @param energy       the GPU's joules over the prefill and the decode, or why they were not measured
 */
public record GenerationResult(int[] generated, int promptTokens, long prefillNanos, long decodeNanos,
                               String stopReason, String attention, String text, double density,
                               List<TokenLogprobs> logprobs, GenerationEnergy energy) {
    public static final String DENSE = "dense";

    public GenerationResult {
        logprobs = List.copyOf(logprobs);
        Objects.requireNonNull(energy, "energy");
    }

    /** A dense prefill, no text kept. */
    public GenerationResult(int[] generated, int promptTokens, long prefillNanos, long decodeNanos, String stopReason) {
        this(generated, promptTokens, prefillNanos, decodeNanos, stopReason, DENSE, "", 1.0, List.of(),
                GenerationEnergy.notMeasured("energy: not measured"));
    }

    public boolean sparse() {
        return !DENSE.equals(attention);
    }

    public double prefillTokensPerSecond() {
        return prefillNanos == 0 ? 0 : promptTokens * 1e9 / prefillNanos;
    }

    public double decodeTokensPerSecond() {
        return decodeNanos == 0 ? 0 : generated.length * 1e9 / decodeNanos;
    }
}
