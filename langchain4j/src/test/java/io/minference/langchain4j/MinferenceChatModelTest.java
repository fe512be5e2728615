package io.minference.langchain4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import io.minference.llama.LlamaModel;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.LlamaSession;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cpu.CpuBackend;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Chats with the shipped tiny pass-key model through LangChain4j's API, in this JVM, on the CPU: the blocking and the
 * streaming model answer the pass key, report token usage and finish reason, take their defaults from the builder
 * and their overrides from the request, and refuse what they cannot do.
 */
class MinferenceChatModelTest {
    private static LlamaModel model;
    private static CpuBackend cpu;
    private static LlamaSession session;
    private static String question;

    @BeforeAll
    static void open() throws Exception {
        model = ModelLoader.load(PasskeyChat.model().toString(), null, ProgressListener.NONE);
        cpu = new CpuBackend();
        session = LlamaSession.open(model, cpu, AttentionPlan.dense(), 128);
        question = PasskeyChat.question(2400);
    }

    @AfterAll
    static void close() {
        if (session != null) session.close();
        if (cpu != null) cpu.close();
        if (model != null) model.close();
    }

    private static ChatRequest ask(String text) {
        return ChatRequest.builder().messages(UserMessage.from(text)).build();
    }

    @Test
    void answersThePassKeyWithTokenUsageAndFinishReason() {
        MinferenceChatModel chat = MinferenceChatModel.builder().session(session).maxOutputTokens(6).build();
        ChatResponse response = chat.chat(ask(question));
        String answer = response.aiMessage().text();
        System.out.println("LangChain4j ChatModel, pass key " + PasskeyChat.KEY + ": '" + answer + "', "
                + response.metadata().tokenUsage());
        assertTrue(answer.strip().startsWith(PasskeyChat.KEY), "answer '" + answer + "'");
        int promptTokens = 1 + session.tokenizer().encode(question).length;
        assertEquals(promptTokens, response.metadata().tokenUsage().inputTokenCount());
        assertEquals(6, response.metadata().tokenUsage().outputTokenCount());
        assertEquals(FinishReason.LENGTH, response.metadata().finishReason());
        assertEquals("tiny-passkey-llama-q8_0.gguf", response.metadata().modelName());
        assertFalse(response.metadata().id().isBlank());
    }

    @Test
    void aStopSequenceEndsTheAnswerWithFinishReasonStopAndIsCutFromIt() {
        // greedy, the model runs on after the key with more digits (" 582139533333"): "9" stops it right after
        MinferenceChatModel chat = MinferenceChatModel.builder().session(session).maxOutputTokens(12)
                .stopSequences(List.of("9")).build();
        ChatResponse response = chat.chat(ask(question));
        assertEquals(FinishReason.STOP, response.metadata().finishReason(), response.toString());
        assertEquals(" " + PasskeyChat.KEY, response.aiMessage().text());
    }

    @Test
    void theRequestsParametersOverrideTheModelsDefaults() {
        MinferenceChatModel chat = MinferenceChatModel.builder().session(session).maxOutputTokens(2).build();
        assertEquals(2, chat.defaultRequestParameters().maxOutputTokens());
        assertEquals(0.0, chat.defaultRequestParameters().temperature());
        assertEquals(2, chat.chat(ask("Call me Ishmael.")).metadata().tokenUsage().outputTokenCount());
        ChatRequest longer = ChatRequest.builder().messages(UserMessage.from("Call me Ishmael."))
                .parameters(MinferenceChatRequestParameters.builder().maxOutputTokens(5).temperature(0.8).seed(7L)
                        .build()).build();
        ChatResponse first = chat.chat(longer);
        assertEquals(5, first.metadata().tokenUsage().outputTokenCount());
        assertEquals(first.aiMessage().text(), chat.chat(longer).aiMessage().text(), "the same seed samples alike");
    }

    @Test
    void theStreamingModelStreamsTheSameAnswerAsTheBlockingOne() {
        MinferenceStreamingChatModel streaming = MinferenceStreamingChatModel.builder().session(session)
                .maxOutputTokens(6).build();
        CollectingHandler handler = new CollectingHandler();
        streaming.chat(ask(question), handler);
        assertTrue(handler.response.isDone(), "the stream runs on the calling thread");
        ChatResponse response = handler.response.join();
        List<String> pieces = handler.pieces;
        assertEquals(String.join("", pieces), response.aiMessage().text());
        assertTrue(pieces.size() > 1, "streamed in pieces: " + pieces);
        assertTrue(response.aiMessage().text().strip().startsWith(PasskeyChat.KEY), response.aiMessage().text());
        assertEquals(FinishReason.LENGTH, response.metadata().finishReason());
        assertEquals(6, response.metadata().tokenUsage().outputTokenCount());
        String blocking = MinferenceChatModel.builder().session(session).maxOutputTokens(6).build()
                .chat(ask(question)).aiMessage().text();
        assertEquals(blocking, response.aiMessage().text());
    }

    @Test
    void whatTheModelCannotDoIsRefused() {
        MinferenceChatModel chat = MinferenceChatModel.builder().session(session).build();
        ChatRequest tools = ChatRequest.builder().messages(UserMessage.from("Hi"))
                .toolSpecifications(ToolSpecification.builder().name("weather").build()).build();
        assertThrows(UnsupportedFeatureException.class, () -> chat.chat(tools));
        ChatRequest topK = ChatRequest.builder().messages(UserMessage.from("Hi")).topK(5).build();
        var e = assertThrows(UnsupportedFeatureException.class, () -> chat.chat(topK));
        assertTrue(e.getMessage().contains("'topK'"), e.getMessage());
        ChatRequest image = ChatRequest.builder().messages(UserMessage.from(TextContent.from("What is this?"),
                ImageContent.from("https://example.invalid/a.png"))).build();
        assertThrows(UnsupportedFeatureException.class, () -> chat.chat(image));
        ChatRequest otherModel = ChatRequest.builder().messages(UserMessage.from("Hi")).modelName("gpt-4o").build();
        var wrongName = assertThrows(IllegalArgumentException.class, () -> chat.chat(otherModel));
        assertEquals("this chat model runs tiny-passkey-llama-q8_0.gguf; the request asks for gpt-4o",
                wrongName.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> MinferenceChatModel.builder().session(session).temperature(-1.0).build());
        assertThrows(IllegalArgumentException.class, () -> MinferenceChatModel.builder().build());

        MinferenceStreamingChatModel streaming = MinferenceStreamingChatModel.builder().session(session).build();
        CollectingHandler fine = new CollectingHandler();
        streaming.chat(ChatRequest.builder().messages(SystemMessage.from("x"), UserMessage.from("y"))
                .maxOutputTokens(1).build(), fine);
        assertEquals(1, fine.response.join().metadata().tokenUsage().outputTokenCount(), "a system and a user message");
        CollectingHandler tooLong = new CollectingHandler();
        streaming.chat(ask("word ".repeat(20000)), tooLong);
        var error = assertThrows(CompletionException.class, tooLong.response::join);
        assertInstanceOf(IllegalArgumentException.class, error.getCause(), "a prompt beyond the context goes to onError");
    }

    @Test
    void aModelBuiltFromAFileLoadsItAndClosesIt() {
        try (MinferenceChatModel chat = MinferenceChatModel.builder().modelPath(PasskeyChat.model()).device("cpu")
                .modelName("passkey").maxOutputTokens(3).build()) {
            ChatResponse response = chat.chat(ask("Call me Ishmael."));
            assertEquals("passkey", response.metadata().modelName());
            assertEquals(3, response.metadata().tokenUsage().outputTokenCount());
        }
    }
}
