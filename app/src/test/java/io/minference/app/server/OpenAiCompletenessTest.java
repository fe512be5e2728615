package io.minference.app.server;

import static io.minference.app.server.ApiServerTest.assertError;
import static io.minference.app.server.CpuSessions.cpuSession;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.minference.llama.load.ModelLoader;
import io.minference.runtime.ProgressListener;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The OpenAI fields beyond the basics, on synthetic:tiny (whose greedy text is random bytes, so stop sequences are
 * taken from its own answer): stop, logprobs in both endpoints' shapes, plain and streamed, max_completion_tokens,
 * max_tokens beyond what the context leaves, and the refusal of tools and response formats.
 */
class OpenAiCompletenessTest {
    private static final String MODEL = "synthetic:tiny";
    private static LlamaEngine engine;
    private static ApiServer server;
    private static Http http;

    @BeforeAll
    static void start() throws Exception {
        engine = new LlamaEngine(cpuSession(ModelLoader.load(MODEL, null, ProgressListener.NONE)), MODEL);
        // The server's own max_tokens cap above the model's context, so that the context's limit is what speaks.
        server = ApiServer.start(engine, new ServerSettings("127.0.0.1", 0, 1 << 20, 2, false, null,
                ServerLimits.DEFAULTS.withMaxTokensLimit(1 << 20)));
        http = Http.of(server);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (engine != null) engine.close();
    }

    private static String json(String text) throws Exception {
        return Http.JSON.writeValueAsString(text);
    }

    /** The greedy completion of {@code prompt}, {@code tokens} long, and its text. */
    private static String greedyText(String prompt, int tokens) throws Exception {
        Http.Reply reply = http.post("/v1/completions", "{\"prompt\": " + json(prompt) + ", \"max_tokens\": " + tokens
                + ", \"temperature\": 0}");
        assertEquals(200, reply.status(), reply.body());
        return reply.json().get("choices").get(0).get("text").asText();
    }

    /** A stop sequence from the middle of {@code text}, and the text before its first occurrence. */
    private static String[] stopIn(String text) {
        int from = text.length() / 3;
        String stop = text.substring(from, from + 2);
        return new String[] {stop, text.substring(0, text.indexOf(stop))};
    }

    @Test
    void aStopSequenceIsCutFromACompletionAndEndsItWithStop() throws Exception {
        String text = greedyText("Once upon a time", 12);
        assertTrue(text.length() >= 6, "an answer long enough to hold a stop sequence: " + text);
        String[] stop = stopIn(text);
        Http.Reply reply = http.post("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 12,"
                + " \"temperature\": 0, \"stop\": " + json(stop[0]) + "}");
        assertEquals(200, reply.status(), reply.body());
        JsonNode choice = reply.json().get("choices").get(0);
        assertEquals(stop[1], choice.get("text").asText());
        assertEquals("stop", choice.get("finish_reason").asText());
    }

    @Test
    void aStreamHoldsBackTextThatMayBeginAStopSequence() throws Exception {
        String text = greedyText("Call me Ishmael", 12);
        String[] stop = stopIn(text);
        List<String> lines = http.postLines("/v1/completions", "{\"prompt\": \"Call me Ishmael\", \"max_tokens\": 12,"
                + " \"temperature\": 0, \"stream\": true, \"stop\": [\"\\u0000never\", " + json(stop[0]) + "]}");
        StringBuilder streamed = new StringBuilder();
        String finish = null;
        for (JsonNode chunk : chunks(lines)) {
            JsonNode choice = chunk.get("choices").get(0);
            String piece = choice.get("text").asText();
            assertFalse(piece.contains(stop[0]), "a streamed piece never holds the stop sequence: " + piece);
            streamed.append(piece);
            if (!choice.get("finish_reason").isNull()) finish = choice.get("finish_reason").asText();
        }
        assertEquals(stop[1], streamed.toString());
        assertEquals("stop", finish);
    }

    @Test
    void stopIsAStringOrUpToFourNonEmptyStrings() throws Exception {
        assertError(http.post("/v1/completions", "{\"prompt\": \"a\", \"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}"),
                400, "stop takes up to 4 sequences, got 5");
        assertError(http.post("/v1/completions", "{\"prompt\": \"a\", \"stop\": \"\"}"), 400, "must not be empty");
        assertError(http.post("/v1/completions", "{\"prompt\": \"a\", \"stop\": [7]}"), 400, "non-empty string");
        assertError(http.post("/v1/completions", "{\"prompt\": \"a\", \"stop\": 7}"), 400, "string or an array");
        Http.Reply four = http.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}],"
                + " \"max_tokens\": 2, \"stop\": [\"w\", \"x\", \"y\", \"z\"]}");
        assertEquals(200, four.status(), four.body());
    }

    @Test
    void completionLogprobsComeAsTokensValuesAlternativesAndOffsets() throws Exception {
        Http.Reply reply = http.post("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 5,"
                + " \"temperature\": 0, \"logprobs\": 3}");
        assertEquals(200, reply.status(), reply.body());
        JsonNode body = reply.json();
        JsonNode logprobs = body.get("choices").get(0).get("logprobs");
        int generated = body.get("usage").get("completion_tokens").asInt();
        assertEquals(generated, logprobs.get("tokens").size(), reply.body());
        assertEquals(generated, logprobs.get("token_logprobs").size());
        assertEquals(generated, logprobs.get("top_logprobs").size());
        assertEquals(generated, logprobs.get("text_offset").size());
        int offset = 0;
        for (int i = 0; i < generated; i++) {
            double value = logprobs.get("token_logprobs").get(i).asDouble();
            assertTrue(value <= 0, reply.body());
            JsonNode top = logprobs.get("top_logprobs").get(i);
            // Several ids may decode to the same text (a partial character), so a map may hold fewer than 3.
            assertTrue(top.size() >= 1 && top.size() <= 3, reply.body());
            double best = Double.NEGATIVE_INFINITY;
            for (Iterator<Map.Entry<String, JsonNode>> it = top.fields(); it.hasNext(); ) {
                best = Math.max(best, it.next().getValue().asDouble());
            }
            assertEquals(best, value, 1e-6, "greedy: the chosen token is the most likely");
            assertEquals(offset, logprobs.get("text_offset").get(i).asInt());
            offset += logprobs.get("tokens").get(i).asText().length();
        }
        assertError(http.post("/v1/completions", "{\"prompt\": \"a\", \"logprobs\": 6}"), 400, "logprobs must be"
                + " from 0 to 5");
        assertTrue(http.post("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 1}").json().get("choices").get(0)
                .get("logprobs").isNull(), "no logprobs unless asked");
    }

    @Test
    void chatLogprobsComeAsContentWithBytesAndTopAlternatives() throws Exception {
        Http.Reply reply = http.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\":"
                + " \"hello\"}], \"max_completion_tokens\": 4, \"temperature\": 0, \"logprobs\": true,"
                + " \"top_logprobs\": 2}");
        assertEquals(200, reply.status(), reply.body());
        JsonNode body = reply.json();
        assertEquals(4, body.get("usage").get("completion_tokens").asInt(), "max_completion_tokens is honoured");
        JsonNode content = body.get("choices").get(0).get("logprobs").get("content");
        assertEquals(4, content.size(), reply.body());
        for (JsonNode entry : content) {
            assertTrue(entry.get("token").isTextual());
            assertTrue(entry.get("logprob").asDouble() <= 0);
            assertTrue(entry.get("bytes").isArray());
            assertEquals(2, entry.get("top_logprobs").size());
            assertEquals(entry.get("top_logprobs").get(0).get("logprob").asDouble(), entry.get("logprob").asDouble(),
                    1e-6);
        }
        assertError(http.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}],"
                + " \"logprobs\": true, \"top_logprobs\": 21}"), 400, "top_logprobs must be from 0 to 20");
        assertError(http.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}],"
                + " \"top_logprobs\": 2}"), 400, "top_logprobs needs logprobs: true");
    }

    @Test
    void streamedChunksCarryTheirTokensLogprobs() throws Exception {
        List<String> lines = http.postLines("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\","
                + " \"content\": \"hello\"}], \"max_tokens\": 5, \"temperature\": 0, \"logprobs\": true,"
                + " \"stream\": true, \"stream_options\": {\"include_usage\": true}}");
        int tokens = 0;
        int usage = -1;
        for (JsonNode chunk : chunks(lines)) {
            if (chunk.get("choices").isEmpty()) {
                usage = chunk.get("usage").get("completion_tokens").asInt();
                continue;
            }
            JsonNode logprobs = chunk.get("choices").get(0).get("logprobs");
            if (logprobs != null && !logprobs.isNull()) tokens += logprobs.get("content").size();
        }
        assertEquals(usage, tokens, "one logprobs entry per generated token, in the chunks");
        assertEquals(5, tokens);
    }

    @Test
    void maxTokensBeyondWhatTheContextLeavesIsRefused() throws Exception {
        assertError(http.post("/v1/completions", "{\"prompt\": \"abc\", \"max_tokens\": 32765}"), 400,
                "max_tokens is 32765, but the prompt's 4 tokens leave 32764 of this model's context of 32768 tokens");
        Http.Reply fits = http.post("/v1/completions", "{\"prompt\": \"abc\", \"max_completion_tokens\": 2}");
        assertEquals(200, fits.status(), fits.body());
        assertEquals(2, fits.json().get("usage").get("completion_tokens").asInt(),
                "max_completion_tokens is accepted by /v1/completions too");
    }

    @Test
    void toolsAndResponseFormatsAreRefused() throws Exception {
        String messages = "\"messages\": [{\"role\": \"user\", \"content\": \"a\"}]";
        assertError(http.post("/v1/chat/completions", "{" + messages + ", \"tools\": [{\"type\": \"function\","
                + " \"function\": {\"name\": \"f\"}}]}"), 400, "tools are not supported");
        assertError(http.post("/v1/chat/completions", "{" + messages + ", \"tool_choice\": \"auto\"}"), 400,
                "tool_choice is not supported");
        assertError(http.post("/v1/chat/completions", "{" + messages + ", \"response_format\": {\"type\":"
                + " \"json_object\"}}"), 400, "response_format");
        Http.Reply text = http.post("/v1/chat/completions", "{" + messages + ", \"max_tokens\": 1,"
                + " \"response_format\": {\"type\": \"text\"}, \"tools\": []}");
        assertEquals(200, text.status(), text.body());
    }

    /** The data chunks of a stream, without [DONE] and named events. */
    private static List<JsonNode> chunks(List<String> lines) throws Exception {
        List<JsonNode> chunks = new ArrayList<>();
        String event = null;
        for (String line : lines) {
            if (line.startsWith("event: ")) event = line.substring(7);
            if (!line.startsWith("data: ") || line.equals("data: [DONE]")) continue;
            if (event == null) chunks.add(Http.JSON.readTree(line.substring(6)));
            event = null;
        }
        return chunks;
    }
}
