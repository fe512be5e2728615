package io.minference.app.server;

import static io.minference.app.server.ApiServerTest.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** One generation at a time, a bounded queue, and cancellation when the client goes away (a scripted engine). */
class ServerLimitsTest {

    @Test
    void aFullQueueGets503AndTheQueuedRequestsStillFinish() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(true, 1);
        try (ApiServer server = ApiServer.start(engine, new ServerSettings("127.0.0.1", 0, 1 << 16, 1, false, null))) {
            Http http = Http.of(server);
            HttpRequest request = HttpRequest.newBuilder(server.uri().resolve("/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"a\", \"max_tokens\": 3}")).build();
            CompletableFuture<HttpResponse<String>> running = http.client().sendAsync(request,
                    HttpResponse.BodyHandlers.ofString());
            assertTrue(engine.started.await(10, TimeUnit.SECONDS), "the first generation started");
            CompletableFuture<HttpResponse<String>> queued = http.client().sendAsync(request,
                    HttpResponse.BodyHandlers.ofString());
            awaitHealth(http, 1, 1);

            assertError(http.post("/v1/completions", "{\"prompt\": \"a\"}"), 503, "the server is busy");
            assertEquals(200, http.get("/health").status(), "light endpoints still answer");
            assertError(http.post("/v1/completions", "{\"prompt\": \"a\", \"minference\": {\"attention\":"
                    + " \"magic\"}}"), 400, "unknown attention mode", "refused before queueing");

            engine.release.countDown();
            assertEquals(200, running.get(10, TimeUnit.SECONDS).statusCode());
            HttpResponse<String> second = queued.get(10, TimeUnit.SECONDS);
            assertEquals(200, second.statusCode());
            assertEquals("xxx", Http.JSON.readTree(second.body()).get("choices").get(0).get("text").asText());
            assertEquals(2, engine.generations.get());
            awaitHealth(http, 0, 0);
        }
    }

    @Test
    void aStreamingClientThatDisconnectsCancelsItsGeneration() throws Exception {
        assertDisconnectCancels(true);
    }

    @Test
    void aWaitingPlainClientThatDisconnectsCancelsItsGeneration() throws Exception {
        assertDisconnectCancels(false);
    }

    private static void assertDisconnectCancels(boolean stream) throws Exception {
        ScriptedEngine engine = new ScriptedEngine(false, 5);
        try (ApiServer server = ApiServer.start(engine, new ServerSettings("127.0.0.1", 0, 1 << 16, 1, false, null))) {
            String body = "{\"prompt\": \"a\", \"max_tokens\": 4096, \"stream\": " + stream + "}";
            URI uri = server.uri();
            try (Socket socket = new Socket(uri.getHost(), uri.getPort())) {
                OutputStream out = socket.getOutputStream();
                out.write(("POST /v1/completions HTTP/1.1\r\nHost: " + uri.getHost() + "\r\nContent-Type: application/json"
                        + "\r\nContent-Length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
                out.flush();
                InputStream in = socket.getInputStream();
                byte[] head = in.readNBytes(64);
                assertTrue(new String(head, StandardCharsets.US_ASCII).startsWith("HTTP/1.1 200"));
            }
            assertTrue(engine.cancelled.await(10, TimeUnit.SECONDS), "the generation saw the cancellation");
            awaitHealth(Http.of(server), 0, 0);
        }
    }

    static void awaitHealth(Http http, int running, int queued) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String last = "";
        while (System.nanoTime() < deadline) {
            var health = http.get("/health").json();
            last = health.toString();
            if (health.get("running").asInt() == running && health.get("queued").asInt() == queued) return;
            Thread.sleep(20);
        }
        throw new AssertionError("health never showed running " + running + ", queued " + queued + ": " + last);
    }
}
