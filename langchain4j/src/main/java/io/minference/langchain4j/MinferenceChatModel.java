package io.minference.langchain4j;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import io.minference.llama.session.GenerationListener;

/**
 * A LangChain4j {@link ChatModel} that runs a LLaMA model in this JVM through the session API.
 *
 * <pre>{@code
 * try (MinferenceChatModel model = MinferenceChatModel.builder()
 *         .modelPath(Path.of("models/tiny-passkey-llama-q8_0.gguf"))
 *         .maxOutputTokens(32)
 *         .build()) {
 *     ChatResponse response = model.chat(ChatRequest.builder().messages(UserMessage.from("Call me Ishmael.")).build());
 *     response.aiMessage().text();                 // the answer
 *     response.metadata().tokenUsage();            // prompt and generated tokens
 *     response.metadata().finishReason();          // STOP (end token, stop sequence) or LENGTH
 * }
 * }</pre>
 */
public class MinferenceChatModel extends MinferenceBaseChatModel implements ChatModel {
    private MinferenceChatModel(Builder builder) {
        super(builder);
    }

    @Override
    public ChatResponse doChat(ChatRequest chatRequest) {
        return generate(chatRequest, GenerationListener.NONE);
    }

    public static Builder builder() {
        return new Builder();
    }

    public static class Builder extends MinferenceBaseChatModel.Builder<MinferenceChatModel, Builder> {
        @Override
        public MinferenceChatModel build() {
            return new MinferenceChatModel(this);
        }
    }
}
