package io.minference.app.server;

import static io.minference.app.server.ApiServerTest.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static io.minference.app.server.ServerLimitsTest.awaitHealth;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The generation slot is bounded in tokens and time and given back when nobody is listening: a max_tokens cap, a
 * deadline, a write timeout for streams nobody reads, queued clients that leave, and the demo's pattern picture
 * passing through the same gate (a scripted engine, loopback only).
 */
class GenerationBoundsTest {
    private static final Duration IDLE = Duration.ofSeconds(1);

    private static ApiServer start(ScriptedEngine engine, int queue, ServerLimits limits) throws Exception {
        return ApiServer.start(engine, new ServerSettings("127.0.0.1", 0, 1 << 16, queue, true, null, limits));
    }

    @Test
    void maxTokensAboveTheServersLimitGets400NamingIt() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(false, 0);
        try (ApiServer server = start(engine, 1, ServerLimits.DEFAULTS.withMaxTokensLimit(100))) {
            Http http = Http.of(server);
            assertError(http.post("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 32000}"), 400,
                    "at most 100 (--max-tokens-limit)");
            assertEquals(200, http.post("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 100}").status());
            assertEquals(1, engine.generations.get(), "the refused request never reached the engine");
        }
    }

    @Test
    void aStreamThatIsNeverReadLosesTheSlotAtTheWriteTimeout() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(false, 0);
        engine.piece = "y".repeat(64 << 10);
        try (ApiServer server = start(engine, 1, ServerLimits.DEFAULTS.withIdleTimeout(IDLE))) {
            try (RawHttp client = new RawHttp(server.uri())) {
                String body = "{\"prompt\": \"a\", \"max_tokens\": 4096, \"stream\": true}";
                client.send(RawHttp.post("/v1/completions", body.length(), body));
                // 4096 pieces of 64 KiB are 256 MiB: far more than any socket buffer, and this client reads none.
                assertTrue(engine.cancelled.await(15, TimeUnit.SECONDS), "the blocked write timed out");
                awaitHealth(Http.of(server), 0, 0);
            }
        }
    }

    @Test
    void queuedClientsThatLeaveAreDroppedFromTheQueue() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(true, 1);
        try (ApiServer server = start(engine, 2, ServerLimits.DEFAULTS)) {
            Http http = Http.of(server);
            CompletableFuture<HttpResponse<String>> running = post(http, "{\"prompt\": \"a\", \"max_tokens\": 2}");
            assertTrue(engine.started.await(10, TimeUnit.SECONDS));
            List<RawHttp> leaving = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                String body = "{\"prompt\": \"b\", \"max_tokens\": 2}";
                leaving.add(new RawHttp(server.uri()).send(RawHttp.post("/v1/completions", body.length(), body)));
            }
            awaitHealth(http, 1, 2);
            assertError(http.post("/v1/completions", "{\"prompt\": \"a\"}"), 503, "the server is busy");
            for (RawHttp client : leaving) client.close();
            awaitHealth(http, 1, 0);
            CompletableFuture<HttpResponse<String>> queued = post(http, "{\"prompt\": \"c\", \"max_tokens\": 3}");
            awaitHealth(http, 1, 1);
            engine.release.countDown();
            assertEquals(200, running.get(10, TimeUnit.SECONDS).statusCode());
            assertEquals(200, queued.get(10, TimeUnit.SECONDS).statusCode());
            assertEquals(2, engine.generations.get(), "the requests whose clients left never ran");
        }
    }

    @Test
    void aQueuedRequestPastItsDeadlineGets504() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(true, 1);
        try (ApiServer server = start(engine, 1, ServerLimits.DEFAULTS.withRequestTimeout(Duration.ofSeconds(1)))) {
            Http http = Http.of(server);
            CompletableFuture<HttpResponse<String>> running = post(http, "{\"prompt\": \"a\", \"max_tokens\": 2}");
            assertTrue(engine.started.await(10, TimeUnit.SECONDS));
            assertError(http.post("/v1/completions", "{\"prompt\": \"b\"}"), 504, "request timeout of 1 s");
            engine.release.countDown();
            running.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aRunningStreamPastItsDeadlineEndsWithAnErrorEvent() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(false, 5);
        try (ApiServer server = start(engine, 1, ServerLimits.DEFAULTS.withRequestTimeout(Duration.ofSeconds(1)))) {
            Http http = Http.of(server);
            long start = System.nanoTime();
            List<String> lines = http.postLines("/v1/completions",
                    "{\"prompt\": \"a\", \"max_tokens\": 4096, \"stream\": true}");
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos(), "stopped near its deadline");
            String last = lines.stream().filter(l -> l.startsWith("data: ")).reduce((a, b) -> b).orElseThrow();
            assertTrue(last.contains("request timeout of 1 s"), last);
            assertEquals(0, engine.cancelled.getCount(), "the generation saw its deadline");
            awaitHealth(http, 0, 0);
        }
    }

    @Test
    void aPlainResponsePastItsDeadlineEndsWithTheErrorObjectAsItsBody() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(false, 5);
        try (ApiServer server = start(engine, 1, ServerLimits.DEFAULTS.withRequestTimeout(Duration.ofSeconds(1)))) {
            Http.Reply reply = Http.of(server).post("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 4096}");
            // Committed by the heartbeat spaces, so the status is 200; the body is the error object, valid JSON.
            assertEquals(200, reply.status());
            assertTrue(reply.errorMessage().contains("request timeout of 1 s"), reply.body());
        }
    }

    @Test
    void thePatternPictureWaitsItsTurnAtTheGateAndStopsWhenItsClientLeaves() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(true, 5);
        try (ApiServer server = start(engine, 2, ServerLimits.DEFAULTS)) {
            Http http = Http.of(server);
            String body = "{\"prompt\": \"a b c\", \"layer\": 0, \"head\": 0}";
            try (RawHttp client = new RawHttp(server.uri())) {
                client.send(RawHttp.post("/demo/pattern", body.length(), body));
                assertTrue(engine.started.await(10, TimeUnit.SECONDS));
                awaitHealth(http, 1, 0);
                CompletableFuture<HttpResponse<String>> queued = post(http, "/demo/pattern", body);
                awaitHealth(http, 1, 1);
                assertTrue(!queued.isDone(), "the second picture waits for the first");
            }
            assertTrue(engine.cancelled.await(10, TimeUnit.SECONDS), "the picture stopped when its client left");
        }
    }

    private static CompletableFuture<HttpResponse<String>> post(Http http, String body) {
        return post(http, "/v1/completions", body);
    }

    private static CompletableFuture<HttpResponse<String>> post(Http http, String path, String body) {
        return http.client().sendAsync(HttpRequest.newBuilder(http.base().resolve(path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
