package io.minference.llama.generate;

/**
 * How well a model predicts a text's continuation after a (possibly sparse) prefill of its context.
 *
 * @param negativeLogLikelihood sum over the scored tokens, in nats
 * @param scoredTokens          continuation tokens scored
 * @param contextTokens         tokens prefilled before them
 * @param prefillNanos          time of the context's prefill
 * @param attention             which prefill ran: {@link GenerationResult#DENSE} or the sparse mode's name
 * @param density               the fraction of the causal area the prefill computed (NaN where not measured)
 */
public record ScoreResult(double negativeLogLikelihood, int scoredTokens, int contextTokens, long prefillNanos,
                          String attention, double density) {
    public double perplexity() {
        return Math.exp(negativeLogLikelihood / scoredTokens);
    }
}
