package io.minference.llama.generate;

/**
 * The outcome of one generation.
 *
 * @param generated    the generated ids, prompt excluded
 * @param promptTokens prompt length in tokens
 * @param prefillNanos time spent on the prompt
 * @param decodeNanos  time spent generating
 * @param stopReason   "eos" (a stop token was produced), "length" (max tokens) or "context" (context full)
 */
public record GenerationResult(int[] generated, int promptTokens, long prefillNanos, long decodeNanos,
                               String stopReason) {
    public double prefillTokensPerSecond() {
        return prefillNanos == 0 ? 0 : promptTokens * 1e9 / prefillNanos;
    }

    public double decodeTokensPerSecond() {
        return decodeNanos == 0 ? 0 : generated.length * 1e9 / decodeNanos;
    }
}
