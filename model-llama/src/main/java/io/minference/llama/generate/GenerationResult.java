package io.minference.llama.generate;

/**
 * The outcome of one generation.
 *
 * @param generated    the generated ids, prompt excluded
 * @param promptTokens prompt length in tokens
 * @param prefillNanos time spent on the prompt
 * @param decodeNanos  time spent generating
 * @param stopReason   "eos" (a stop token was produced), "length" (max tokens) or "context" (context full)
 * @param attention    which prefill ran: {@link #DENSE}, or the sparse mode's name (minference, a-shape, ...)
 */
public record GenerationResult(int[] generated, int promptTokens, long prefillNanos, long decodeNanos,
                               String stopReason, String attention) {
    public static final String DENSE = "dense";

    /** A dense prefill. */
    public GenerationResult(int[] generated, int promptTokens, long prefillNanos, long decodeNanos, String stopReason) {
        this(generated, promptTokens, prefillNanos, decodeNanos, stopReason, DENSE);
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
