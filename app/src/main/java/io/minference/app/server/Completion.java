package io.minference.app.server;

/**
 * The outcome of one generation.
 *
 * @param attentionPath the prefill attention that actually ran ("dense", or the sparse mode)
 * @param finishReason  OpenAI's words: "stop" (a stop token) or "length" (max tokens, or the context is full)
 */
public record Completion(String text, int promptTokens, int completionTokens, double prefillSeconds,
                         double decodeTokensPerSecond, String attentionPath, String finishReason) {
}
