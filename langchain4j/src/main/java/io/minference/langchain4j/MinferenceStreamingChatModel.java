package io.minference.langchain4j;

import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import io.minference.llama.session.GenerationListener;
import io.minference.llama.session.TokenLogprobs;

/**
 * A LangChain4j {@link StreamingChatModel} over the session API: the answer's text reaches
 * {@link StreamingChatResponseHandler#onPartialResponse(String)} as the model releases it (whole UTF-8, never part
 * of a stop sequence), then the whole response, with token usage and finish reason, reaches
 * {@link StreamingChatResponseHandler#onCompleteResponse}. The generation runs on the calling thread; a failure
 * goes to {@link StreamingChatResponseHandler#onError} instead.
 */
public class MinferenceStreamingChatModel extends MinferenceBaseChatModel implements StreamingChatModel {
    private MinferenceStreamingChatModel(Builder builder) {
        super(builder);
    }

    @Override
    public void doChat(ChatRequest chatRequest, StreamingChatResponseHandler handler) {
        ChatResponse response;
        try {
            response = generate(chatRequest, new GenerationListener() {
                @Override
                public void token(int token, String text, TokenLogprobs logprobs) {
                    if (!text.isEmpty()) handler.onPartialResponse(text);
                }

                @Override
                public void finish(String text) {
                    if (!text.isEmpty()) handler.onPartialResponse(text);
                }
            });
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        handler.onCompleteResponse(response);
    }

    public static Builder builder() {
        return new Builder();
    }

    public static class Builder extends MinferenceBaseChatModel.Builder<MinferenceStreamingChatModel, Builder> {
        @Override
        public MinferenceStreamingChatModel build() {
            return new MinferenceStreamingChatModel(this);
        }
    }
}
