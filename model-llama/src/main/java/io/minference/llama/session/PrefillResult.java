package io.minference.llama.session;

/**
 * One prefill's outcome.
 *
 * @param logits       the logits of the last positions asked for: row i predicts the token after prompt position
 *                     {@code promptTokens - logits.length + i}
 * @param promptTokens tokens prefilled
 * @param nanos        wall time of the prefill, the logits' copy to the host included
 * @param attention    which prefill ran: {@link LlamaSession#DENSE}, or the sparse mode's name
 * @param density      the fraction of the causal area computed: 1 for dense, the indices' keys over the causal keys
 *                     for sparse, NaN where not measured (a device prefill without
 *                     {@link PrefillOptions#measuringDensity()})
 */
public record PrefillResult(float[][] logits, int promptTokens, long nanos, String attention, double density) {
    /** The last position's logits: those that predict the first generated token. */
    public float[] lastLogits() {
        return logits[logits.length - 1];
    }

    public boolean sparse() {
        return !LlamaSession.DENSE.equals(attention);
    }

    public double tokensPerSecond() {
        return nanos == 0 ? 0 : promptTokens * 1e9 / nanos;
    }
}
