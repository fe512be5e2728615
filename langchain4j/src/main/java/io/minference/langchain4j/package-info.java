/**
 * LangChain4j chat models over the in-process session API ({@link io.minference.llama.session.LlamaSession}):
 * {@link io.minference.langchain4j.MinferenceChatModel} and {@link io.minference.langchain4j.MinferenceStreamingChatModel},
 * built as LangChain4j's own integrations are (a builder, default {@code ChatRequestParameters} that each request
 * overrides, token usage and finish reason in the response metadata, listeners). Messages become a prompt through
 * the model's chat template ({@link io.minference.llama.tokenizer.ChatTemplate}), as in the OpenAI-compatible server.
 *
 * <p>What a local model without tools cannot do is refused with LangChain4j's {@code UnsupportedFeatureException}:
 * tools, JSON response formats, non-text content, top-k and the frequency and presence penalties.
 */
package io.minference.langchain4j;
