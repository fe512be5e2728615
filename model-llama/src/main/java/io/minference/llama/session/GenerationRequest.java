package io.minference.llama.session;

import io.minference.llama.generate.SamplingOptions;
import java.util.List;
import java.util.Objects;

/**
 * What to generate. Start from {@link #of(int)} and change one thing at a time with the {@code with} methods.
 *
 * @param maxTokens   generated tokens at most, the prompt excluded
 * @param sampling    how each token is chosen
 * @param stop        stop sequences, matched on the decoded text across token boundaries and cut from it
 * @param topLogprobs how many alternatives each token's {@link TokenLogprobs} lists, or -1 for no log-probabilities
 * @param attention   the plan for this generation's prefill, or null for the session's
 * @param measureDensity whether a device prefill counts its density (see {@link PrefillOptions#measuringDensity()})
 */
public record GenerationRequest(int maxTokens, SamplingOptions sampling, List<String> stop, int topLogprobs,
                                AttentionPlan attention, boolean measureDensity) {
    public GenerationRequest {
        if (maxTokens < 0) throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
        Objects.requireNonNull(sampling, "sampling");
        stop = List.copyOf(stop);
        for (String s : stop) {
            if (s.isEmpty()) throw new IllegalArgumentException("a stop sequence must not be empty");
        }
        if (topLogprobs < -1) throw new IllegalArgumentException("top logprobs must be >= 0, got " + topLogprobs);
    }

    /** Greedy, no stop sequences, no log-probabilities, the session's attention. */
    public static GenerationRequest of(int maxTokens) {
        return new GenerationRequest(maxTokens, SamplingOptions.GREEDY, List.of(), -1, null, false);
    }

    public GenerationRequest withSampling(SamplingOptions options) {
        return new GenerationRequest(maxTokens, options, stop, topLogprobs, attention, measureDensity);
    }

    public GenerationRequest withStop(List<String> sequences) {
        return new GenerationRequest(maxTokens, sampling, sequences, topLogprobs, attention, measureDensity);
    }

    /** Log-probabilities for each token, with {@code top} alternatives (0 for the chosen token's only). */
    public GenerationRequest withLogprobs(int top) {
        if (top < 0) throw new IllegalArgumentException("top logprobs must be >= 0, got " + top);
        return new GenerationRequest(maxTokens, sampling, stop, top, attention, measureDensity);
    }

    public GenerationRequest withAttention(AttentionPlan plan) {
        return new GenerationRequest(maxTokens, sampling, stop, topLogprobs, Objects.requireNonNull(plan, "plan"),
                measureDensity);
    }

    /** The prefill's density counted on a GPU too, at the cost of copying each sparse index back. */
    public GenerationRequest measuringDensity() {
        return new GenerationRequest(maxTokens, sampling, stop, topLogprobs, attention, true);
    }

    public boolean wantsLogprobs() {
        return topLogprobs >= 0;
    }
}
