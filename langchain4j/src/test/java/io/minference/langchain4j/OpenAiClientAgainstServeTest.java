package io.minference.langchain4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.model.output.FinishReason;
import io.minference.app.server.ApiServer;
import io.minference.app.server.LlamaEngine;
import io.minference.app.server.ServerSettings;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.LlamaSession;
import io.minference.runtime.ProgressListener;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * LangChain4j's own OpenAI client (langchain4j-open-ai) against the project's OpenAI-compatible server ({@code serve},
 * started in this JVM on a free loopback port, as the app's server tests start it) with the shipped pass-key model:
 * plain and streamed chat completions answer the pass key, with the server's token usage and finish reason.
 */
class OpenAiClientAgainstServeTest {
    private static final String MODEL_ID = "tiny-passkey-llama-q8_0.gguf";
    private static LlamaEngine engine;
    private static ApiServer server;
    private static String baseUrl;
    private static String question;

    @BeforeAll
    static void start() throws Exception {
        engine = new LlamaEngine(LlamaSession.openOwning(ModelLoader.load(PasskeyChat.model().toString(), null,
                ProgressListener.NONE), "cpu", AttentionPlan.dense(), 128), MODEL_ID);
        server = ApiServer.start(engine, new ServerSettings("127.0.0.1", 0, 1 << 20, 2, false, null));
        baseUrl = server.uri().resolve("/v1").toString();
        question = PasskeyChat.question(2400);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (engine != null) engine.close();
    }

    @Test
    void aPlainChatCompletionAnswersThePassKey() {
        OpenAiChatModel chat = OpenAiChatModel.builder().baseUrl(baseUrl).apiKey("not-needed").modelName(MODEL_ID)
                .temperature(0.0).maxTokens(6).timeout(Duration.ofMinutes(2)).build();
        ChatResponse response = chat.chat(ChatRequest.builder().messages(UserMessage.from(question)).build());
        String answer = response.aiMessage().text();
        System.out.println("langchain4j-open-ai against serve, pass key " + PasskeyChat.KEY + ": '" + answer + "', "
                + response.metadata().tokenUsage());
        assertTrue(answer.strip().startsWith(PasskeyChat.KEY), "answer '" + answer + "'");
        assertEquals(6, response.metadata().tokenUsage().outputTokenCount());
        assertTrue(response.metadata().tokenUsage().inputTokenCount() > 500, response.metadata().toString());
        assertEquals(FinishReason.LENGTH, response.metadata().finishReason());
        assertEquals(MODEL_ID, response.metadata().modelName());
    }

    @Test
    void aStreamedChatCompletionArrivesInPiecesAndAnswersThePassKey() throws Exception {
        OpenAiStreamingChatModel chat = OpenAiStreamingChatModel.builder().baseUrl(baseUrl).apiKey("not-needed")
                .modelName(MODEL_ID).temperature(0.0).maxTokens(6).timeout(Duration.ofMinutes(2)).build();
        CollectingHandler handler = new CollectingHandler();
        chat.chat(ChatRequest.builder().messages(UserMessage.from(question)).build(), handler);
        ChatResponse response = handler.response.get(2, TimeUnit.MINUTES);
        List<String> pieces = handler.pieces;
        assertTrue(pieces.size() > 1, "streamed in pieces: " + pieces);
        assertEquals(String.join("", pieces), response.aiMessage().text());
        assertTrue(response.aiMessage().text().strip().startsWith(PasskeyChat.KEY), response.aiMessage().text());
        assertEquals(FinishReason.LENGTH, response.metadata().finishReason());
        assertTrue(response.aiMessage().toolExecutionRequests().isEmpty());
        // LangChain4j asks for usage in streams (stream_options.include_usage); the server's last chunk carries it
        assertEquals(6, response.metadata().tokenUsage().outputTokenCount(), response.metadata().toString());
    }
}
