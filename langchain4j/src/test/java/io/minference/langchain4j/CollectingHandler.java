package io.minference.langchain4j;

import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Collects a stream's pieces; {@link #response} completes with the whole response or the error. */
final class CollectingHandler implements StreamingChatResponseHandler {
    final List<String> pieces = new ArrayList<>();
    final CompletableFuture<ChatResponse> response = new CompletableFuture<>();

    @Override
    public void onPartialResponse(String partialResponse) {
        pieces.add(partialResponse);
    }

    @Override
    public void onCompleteResponse(ChatResponse completeResponse) {
        response.complete(completeResponse);
    }

    @Override
    public void onError(Throwable error) {
        response.completeExceptionally(error);
    }
}
