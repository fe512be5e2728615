package io.minference.llama.session;

/**
 * A generated token's log-probability under the distribution it was sampled from (softmax of the raw logits,
 * before temperature and top-p), with the most likely alternatives.
 *
 * @param token       the chosen id
 * @param logprob     its log-probability
 * @param topTokens   the most likely ids, most likely first
 * @param topLogprobs their log-probabilities
 */
public record TokenLogprobs(int token, float logprob, int[] topTokens, float[] topLogprobs) {
    /** The log-probabilities of {@code token} and of the {@code top} most likely ids under {@code logits}. */
    public static TokenLogprobs of(float[] logits, int token, int top) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) max = Math.max(max, v);
        double sum = 0;
        for (float v : logits) sum += Math.exp(v - max);
        double logZ = max + Math.log(sum);
        int n = Math.min(top, logits.length);
        int[] ids = new int[n];
        float[] lps = new float[n];
        // A partial selection: n is at most a few tens.
        boolean[] taken = new boolean[n == 0 ? 0 : logits.length];
        for (int k = 0; k < n; k++) {
            int best = -1;
            for (int i = 0; i < logits.length; i++) {
                if (!taken[i] && (best < 0 || logits[i] > logits[best])) best = i;
            }
            taken[best] = true;
            ids[k] = best;
            lps[k] = (float) (logits[best] - logZ);
        }
        return new TokenLogprobs(token, (float) (logits[token] - logZ), ids, lps);
    }
}
