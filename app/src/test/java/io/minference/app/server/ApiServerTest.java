package io.minference.app.server;

import static io.minference.app.server.CpuSessions.cpuSession;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.minference.llama.LlamaModel;
import io.minference.llama.generate.Generator;
import io.minference.llama.generate.SamplingOptions;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.tokenizer.ChatTemplate;
import io.minference.llama.tokenizer.Tokenizer;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The API over a real model (synthetic:tiny on the CPU): every endpoint, streaming, and the refusals. */
class ApiServerTest {
    private static final String MODEL = "synthetic:tiny";
    private static LlamaEngine engine;
    private static ApiServer server;
    private static Http http;

    @BeforeAll
    static void start() throws Exception {
        engine = new LlamaEngine(cpuSession(ModelLoader.load(MODEL, null, ProgressListener.NONE)), MODEL);
        server = ApiServer.start(engine, new ServerSettings("127.0.0.1", 0, 1 << 20, 2, false, null));
        http = Http.of(server);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (engine != null) engine.close();
    }

    /** What the project's Generator produces for this prompt, greedy, decoded as the server decodes. */
    private static String reference(String prompt, int maxTokens, boolean bosOnly) {
        try (LlamaModel model = ModelLoader.load(MODEL, null, ProgressListener.NONE);
             CpuBackend backend = new CpuBackend();
             Generator generator = new Generator(model, backend)) {
            Tokenizer tokenizer = model.tokenizer();
            int[] ids = ChatTemplate.withBos(tokenizer.bos(), tokenizer.encode(prompt));
            Tokenizer.StreamingDecoder decoder = tokenizer.streamingDecoder();
            StringBuilder text = new StringBuilder();
            generator.generate(ids, maxTokens, SamplingOptions.GREEDY, id -> text.append(decoder.next(id)), null);
            return text.append(decoder.flush()).toString();
        }
    }

    @Test
    void healthSaysOkAndIdle() throws Exception {
        Http.Reply reply = http.get("/health");
        assertEquals(200, reply.status());
        assertTrue(reply.contentType().startsWith("application/json"));
        JsonNode health = reply.json();
        assertEquals("ok", health.get("status").asText());
        assertEquals(MODEL, health.get("model").asText());
        assertEquals(0, health.get("running").asInt());
        assertEquals(0, health.get("queued").asInt());
    }

    @Test
    void modelsListsTheOneModel() throws Exception {
        JsonNode list = http.get("/v1/models").json();
        assertEquals("list", list.get("object").asText());
        assertEquals(1, list.get("data").size());
        JsonNode model = list.get("data").get(0);
        assertEquals(MODEL, model.get("id").asText());
        assertEquals("model", model.get("object").asText());
        assertEquals(32768, model.get("context_length").asInt());
        assertEquals("dense", model.get("attention_modes").get(0).asText());

        Http.Reply one = http.get("/v1/models/" + MODEL);
        assertEquals(200, one.status());
        assertEquals(MODEL, one.json().get("id").asText());
        Http.Reply missing = http.get("/v1/models/gpt-4");
        assertEquals(404, missing.status());
        assertTrue(missing.errorMessage().contains("gpt-4"), missing.body());
    }

    @Test
    void completionEqualsTheGeneratorsGreedyText() throws Exception {
        Http.Reply reply = http.post("/v1/completions", """
                {"model": "synthetic:tiny", "prompt": "Once upon a time", "max_tokens": 6, "temperature": 0}""");
        assertEquals(200, reply.status(), reply.body());
        JsonNode body = reply.json();
        assertEquals("text_completion", body.get("object").asText());
        assertTrue(body.get("id").asText().startsWith("cmpl-"));
        JsonNode choice = body.get("choices").get(0);
        assertEquals(reference("Once upon a time", 6, false), choice.get("text").asText());
        assertEquals(17, body.get("usage").get("prompt_tokens").asInt(), "BOS and 16 bytes");
        int generated = body.get("usage").get("completion_tokens").asInt();
        assertEquals(17 + generated, body.get("usage").get("total_tokens").asInt());
        assertEquals(generated == 6 ? "length" : "stop", choice.get("finish_reason").asText());
        JsonNode figures = body.get("minference");
        assertEquals("dense", figures.get("attention").asText());
        assertTrue(figures.get("prefill_seconds").asDouble() > 0);
    }

    @Test
    void streamedCompletionArrivesInPiecesThatMakeTheWholeText() throws Exception {
        List<String> lines = http.postLines("/v1/completions", """
                {"prompt": "Once upon a time", "max_tokens": 6, "temperature": 0, "stream": true,
                 "stream_options": {"include_usage": true}, "minference": {"attention": "dense", "progress": true}}""");
        List<JsonNode> chunks = new ArrayList<>();
        List<JsonNode> progress = new ArrayList<>();
        String previousEvent = null;
        for (String line : lines) {
            if (line.startsWith("event: ")) previousEvent = line.substring(7);
            if (!line.startsWith("data: ") || line.equals("data: [DONE]")) continue;
            JsonNode data = Http.JSON.readTree(line.substring(6));
            if ("progress".equals(previousEvent)) progress.add(data);
            else chunks.add(data);
            previousEvent = null;
        }
        assertEquals("data: [DONE]", lines.stream().filter(l -> !l.isEmpty()).reduce((a, b) -> b).orElseThrow());
        StringBuilder text = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        for (JsonNode chunk : chunks) {
            assertEquals("text_completion", chunk.get("object").asText());
            if (chunk.has("usage")) usage = chunk.get("usage");
            if (chunk.get("choices").isEmpty()) continue;
            text.append(chunk.get("choices").get(0).get("text").asText());
            if (!chunk.get("choices").get(0).get("finish_reason").isNull()) {
                finish = chunk.get("choices").get(0).get("finish_reason").asText();
            }
        }
        assertEquals(reference("Once upon a time", 6, false), text.toString());
        assertTrue(finish != null, "a chunk carries the finish reason");
        assertEquals(17, usage.get("prompt_tokens").asInt());
        assertFalse(progress.isEmpty(), "progress events were asked for");
        JsonNode last = progress.getLast();
        assertEquals("prefill", last.get("stage").asText());
        assertEquals(17, last.get("total").asLong());
        assertEquals(17, last.get("done").asLong());
    }

    @Test
    void chatCompletionAnswersAsTheAssistant() throws Exception {
        Http.Reply reply = http.post("/v1/chat/completions", """
                {"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 4, "temperature": 0}""");
        assertEquals(200, reply.status(), reply.body());
        JsonNode body = reply.json();
        assertEquals("chat.completion", body.get("object").asText());
        JsonNode message = body.get("choices").get(0).get("message");
        assertEquals("assistant", message.get("role").asText());
        // The byte tokenizer has no chat template: a single user turn is BOS and the message's bytes.
        assertEquals(reference("Hello", 4, false), message.get("content").asText());
        assertEquals(6, body.get("usage").get("prompt_tokens").asInt());
    }

    @Test
    void streamedChatOpensWithTheRoleAndEndsWithDone() throws Exception {
        List<String> data = http.postLines("/v1/chat/completions", """
                {"messages": [{"role": "system", "content": "Be brief."},
                              {"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
                 "max_completion_tokens": 3, "temperature": 0, "stream": true}""")
                .stream().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
        assertEquals("[DONE]", data.getLast());
        JsonNode first = Http.JSON.readTree(data.getFirst());
        assertEquals("chat.completion.chunk", first.get("object").asText());
        assertEquals("assistant", first.get("choices").get(0).get("delta").get("role").asText());
        StringBuilder text = new StringBuilder();
        for (String d : data.subList(0, data.size() - 1)) {
            JsonNode delta = Http.JSON.readTree(d).get("choices").get(0).get("delta");
            if (delta.has("content")) text.append(delta.get("content").asText());
        }
        assertEquals(reference("Be brief.\n\nHello", 3, false), text.toString());
    }

    @Test
    void malformedRequestsGetJsonErrors() throws Exception {
        assertError(http.post("/v1/completions", "{\"prompt\": "), 400, "not valid JSON");
        assertError(http.post("/v1/completions", "[1, 2]"), 400, "JSON object");
        assertError(http.post("/v1/completions", "{\"prompt\": \"a\"} {\"prompt\": \"b\"}"), 400, "not valid JSON");
        assertError(http.post("/v1/completions", "[".repeat(5000)), 400, "not valid JSON");
        assertError(http.post("/v1/completions", ""), 400, "no body");
        assertError(http.post("/v1/completions", "{}"), 400, "prompt is required");
        assertError(http.post("/v1/completions", "{\"prompt\": 7}"), 400, "prompt must be a string");
        assertError(http.post("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 0}"), 400, "max_tokens");
        assertError(http.post("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": \"9\"}"), 400, "integer");
        assertError(http.post("/v1/completions", "{\"prompt\": \"a\", \"temperature\": -1}"), 400, "temperature");
        assertError(http.post("/v1/completions", "{\"prompt\": \"a\", \"top_p\": 0}"), 400, "top_p");
        assertError(http.post("/v1/completions", "{\"prompt\": \"a\", \"n\": 2}"), 400, "n must be 1");
        assertError(http.post("/v1/completions", "{\"prompt\": \"a\", \"stop\": [\"\"]}"), 400, "stop");
        assertError(http.post("/v1/completions", "{\"prompt\": \"a\", \"stream\": \"yes\"}"), 400, "stream");
        assertError(http.post("/v1/completions", "{\"prompt\": \"a\", \"model\": \"gpt-4\"}"), 404, "gpt-4");
        assertError(http.post("/v1/chat/completions", "{\"messages\": []}"), 400, "messages");
        assertError(http.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"robot\", \"content\": \"hi\"}]}"),
                400, "role");
        assertError(http.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\"}]}"), 400, "content");
    }

    @Test
    void attentionModesAreCheckedPerRequest() throws Exception {
        assertError(http.post("/v1/completions", "{\"prompt\": \"a\", \"minference\": {\"attention\": \"magic\"}}"),
                400, "unknown attention mode 'magic'");
        assertError(http.post("/v1/completions", "{\"prompt\": \"a\", \"minference\": \"dense\"}"), 400,
                "minference must be an object");
        for (String mode : AttentionModes.ALL) {
            Http.Reply reply = http.post("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 1, \"minference\":"
                    + " {\"attention\": \"" + mode + "\", \"sparse_threshold\": 0}}");
            assertEquals(200, reply.status(), mode + ": " + reply.body());
            assertEquals(mode, reply.json().path("minference").path("attention").asText(), reply.body());
        }
        Http.Reply dense = http.post("/v1/completions",
                "{\"prompt\": \"a\", \"max_tokens\": 1, \"minference\": {\"attention\": \"dense\"}}");
        assertEquals(200, dense.status(), dense.body());
    }

    @Test
    void energyOnTheCpuIsOneLineSayingWhyNotZeros() throws Exception {
        Http.Reply reply = http.post("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 2}");
        assertEquals(200, reply.status(), reply.body());
        JsonNode figures = reply.json().path("minference");
        for (String field : new String[] {"prefill_joules", "prefill_mean_watts", "decode_joules_per_token",
                "decode_mean_watts"}) {
            assertTrue(figures.has(field) && figures.get(field).isNull(), field + " is null: " + reply.body());
        }
        assertEquals("energy: not measured (NVML: the session runs on the cpu)",
                figures.path("energy_unavailable").asText(), reply.body());
    }

    @Test
    void aPromptLongerThanTheContextIsRefused() throws Exception {
        String prompt = "a".repeat(32768);
        assertError(http.post("/v1/completions", "{\"prompt\": \"" + prompt + "\"}"), 400,
                "the prompt is 32769 tokens; this model's context is 32768 tokens");
    }

    @Test
    void wrongMethodsAndPathsGetJsonErrors() throws Exception {
        assertError(http.get("/v1/completions"), 405, "takes POST");
        assertError(http.post("/health", "{}"), 405, "takes GET");
        assertError(http.get("/v1/nothing"), 404, "no such endpoint");
        assertError(http.get("/"), 404, "no such endpoint");
        assertError(http.get("/demo/info"), 404, "no such endpoint");
    }

    @Test
    void anOversizedBodyIsRefusedWith413() throws Exception {
        try (ApiServer small = ApiServer.start(engine, new ServerSettings("127.0.0.1", 0, 100, 1, false, null))) {
            Http client = Http.of(small);
            String body = "{\"prompt\": \"" + "a".repeat(200) + "\"}";
            assertError(client.post("/v1/completions", body), 413, "larger than the server's limit of 100 bytes");
            Http.Reply fits = client.post("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 1}");
            assertEquals(200, fits.status(), fits.body());
        }
    }

    static void assertError(Http.Reply reply, int status, String messagePart, String why) throws Exception {
        assertEquals(status, reply.status(), why + ": " + reply.body());
        assertError(reply, status, messagePart);
    }

    static void assertError(Http.Reply reply, int status, String messagePart) throws Exception {
        assertEquals(status, reply.status(), reply.body());
        assertTrue(reply.contentType().startsWith("application/json"), reply.contentType());
        String message = reply.errorMessage();
        assertTrue(message.contains(messagePart), "'" + message + "' should contain '" + messagePart + "'");
    }
}
