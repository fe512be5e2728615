package io.minference.app.server;

import static io.minference.app.server.ApiServerTest.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The transport's bounds, each against a client that misbehaves on purpose over a raw loopback socket: oversized
 * or malformed heads, bodies that are too large or never finish, many half-sent requests, and slow file readers.
 * The idle timeout is one second here, so that every stalled client is cut off within the test's time.
 */
class ConnectionBoundsTest {
    private static final int MAX_BODY = 1 << 16;
    private static final int MAX_CONNECTIONS = 16;
    private static final ServerLimits LIMITS = ServerLimits.DEFAULTS.withIdleTimeout(Duration.ofSeconds(1))
            .withMaxConnections(MAX_CONNECTIONS).withConcurrentFileReads(1);

    @TempDir
    Path folder;
    private ApiServer server;

    @BeforeEach
    void start() throws Exception {
        server = ApiServer.start(new ScriptedEngine(false, 1), new ServerSettings("127.0.0.1", 0, MAX_BODY, 1, true,
                folder, LIMITS));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void oversizedHeadersGet431AsJson() throws Exception {
        try (RawHttp client = new RawHttp(server.uri())) {
            client.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + "a".repeat(1 << 20) + "\r\n\r\n");
            assertJsonError(client.read(), 431, "Header Fields Too Large");
        }
        StringBuilder many = new StringBuilder("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (int i = 0; i < 10_000; i++) many.append("X-H").append(i).append(": v\r\n");
        try (RawHttp client = new RawHttp(server.uri())) {
            client.send(many.append("\r\n").toString());
            assertJsonError(client.read(), 431, "Header Fields Too Large");
        }
    }

    @Test
    void aMalformedContentLengthGetsJson() throws Exception {
        try (RawHttp client = new RawHttp(server.uri())) {
            client.send("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n");
            assertJsonError(client.read(), 400, "Content-Length");
        }
        try (RawHttp client = new RawHttp(server.uri())) {
            client.send("GARBAGE\r\n\r\n");
            assertJsonError(client.read(), 400, "Bad Request");
        }
    }

    @Test
    void aBodyAboveTheLimitGets413AndTheConnectionCloses() throws Exception {
        try (RawHttp client = new RawHttp(server.uri())) {
            client.send(RawHttp.post("/v1/completions", 10L << 20, "{\"prompt\": \"a\""));
            RawHttp.Reply reply = client.read();
            assertJsonError(reply, 413, "larger than the server's limit of " + MAX_BODY);
            assertEquals("close", reply.header("Connection"));
            assertTrue(client.closedByServer(), "the unread body is never taken for a next request");
        }
    }

    @Test
    void aBodyThatNeverCompletesGets408WithinTheIdleTimeout() throws Exception {
        long start = System.nanoTime();
        try (RawHttp client = new RawHttp(server.uri())) {
            client.send(RawHttp.post("/v1/completions", 100, "{\"prompt\":"));
            assertJsonError(client.read(), 408, "did not arrive in time");
            assertTrue(client.closedByServer());
        }
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos(), "answered within the idle timeout");
    }

    @Test
    void aHeadThatNeverCompletesIsClosedWithinTheIdleTimeout() throws Exception {
        try (RawHttp client = new RawHttp(server.uri())) {
            client.send("POST /v1/completions HTTP/1.1\r\nHost: 127.0.");
            client.setTimeoutMillis(10_000);
            assertTrue(client.closedByServer(), "the connection ends instead of waiting for ever");
        }
    }

    @Test
    void halfSentRequestsCostNoPlatformThreadAndTheServerRecovers() throws Exception {
        var threads = ManagementFactory.getThreadMXBean();
        int before = threads.getThreadCount();
        List<RawHttp> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 4 * MAX_CONNECTIONS; i++) {
                RawHttp client = new RawHttp(server.uri());
                clients.add(client);
                client.send(i % 2 == 0 ? "POST /v1/completions HTTP/1.1\r\nHost: 1"
                        : RawHttp.post("/v1/completions", 1000, "{\"pro"));
            }
            Thread.sleep(300);
            int during = threads.getThreadCount();
            assertTrue(during - before < 20, "platform threads went from " + before + " to " + during);
            // Beyond the connection limit the rest wait to be accepted; the idle timeout frees the slots, and a
            // well-behaved request is answered once one is free.
            Http.Reply health = Http.of(server).get("/health");
            assertEquals(200, health.status());
        } finally {
            for (RawHttp client : clients) client.close();
        }
    }

    @Test
    void filesAreStreamedAndConcurrentReadsAreBounded() throws Exception {
        int size = 48 << 20;
        byte[] line = "The sea was calm and the sky was clear.\n".getBytes(StandardCharsets.US_ASCII);
        byte[] text = new byte[size];
        for (int i = 0; i < size; i++) text[i] = line[i % line.length];
        Files.write(folder.resolve("big.txt"), text);
        try (RawHttp slowReader = new RawHttp(server.uri())) {
            slowReader.send("GET /demo/files/big.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            // The reader takes the one read slot and, reading nothing more, leaves the server's write waiting.
            Thread.sleep(300);
            assertError(Http.of(server).get("/demo/files/big.txt"), 503, "reading 1 files already");
            RawHttp.Reply whole = slowReader.read();
            assertEquals(200, whole.status());
            assertEquals(String.valueOf(size), whole.header("Content-Length"));
            assertEquals(size, whole.body().length());
        }
        assertEquals(200, Http.of(server).get("/demo/files/big.txt").status(), "the slot is free again");
    }

    private static void assertJsonError(RawHttp.Reply reply, int status, String messagePart) throws Exception {
        assertError(new Http.Reply(reply.status(), reply.header("Content-Type"), reply.body()), status, messagePart);
    }
}
