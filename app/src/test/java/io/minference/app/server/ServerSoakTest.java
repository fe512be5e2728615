package io.minference.app.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The server under well-behaved clients mixed with misbehaving ones (streams nobody reads, clients that disconnect
 * mid-answer, requests sent by half), all on loopback, for a bounded time ({@value #DEFAULT_SECONDS} s in CI;
 * {@code -Dminference.soak.seconds=N} for the long form whose figures are in BENCHMARKS.md). It asserts that a
 * 4-token request is answered within 30 s throughout, that every answer is its own request's (the engine echoes the
 * prompt into every token), and that the live heap after a GC returns to within 10% or 32 MiB of its start. It
 * prints requests, latency percentiles, 503s, and RSS and threads before and after.
 */
class ServerSoakTest {
    private static final int DEFAULT_SECONDS = 20;
    private static final int SECONDS = Integer.getInteger("minference.soak.seconds", DEFAULT_SECONDS);
    private static final int WELL_BEHAVED = 8;
    private static final int NEVER_READING = 2;
    private static final int DISCONNECTING = 2;
    private static final int HALF_SENDING = 4;
    private static final Duration LIVENESS = Duration.ofSeconds(30);

    /** Echoes its prompt into every token, so that a response mixed with another's shows. */
    static final class EchoEngine implements TextEngine {
        @Override
        public ModelCard model() {
            return new ModelCard("echo", 1 << 16, 1, 1, AttentionModes.ALL, AttentionModes.ALL);
        }

        @Override
        public int tokenCount(String text) {
            return text.length();
        }

        @Override
        public Completion generate(EnginePrompt prompt, GenerationRequest request, TokenSink sink,
                                   Cancellation cancellation) {
            String text = ((EnginePrompt.Text) prompt).text();
            // A "big" prompt writes 16 KiB a token: a client that does not read blocks the writes within a few.
            String padding = text.startsWith("big") ? "z".repeat(16 << 10) : "";
            StringBuilder all = new StringBuilder();
            for (int i = 0; i < request.maxTokens(); i++) {
                if (cancellation.isCancelled()) throw new GenerationCancelledException();
                String piece = expectedPiece(text, i) + padding;
                all.append(piece);
                sink.text(piece);
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new GenerationCancelledException();
                }
            }
            return new Completion(all.toString(), text.length(), request.maxTokens(), 0.001, 500,
                    request.attention(), "length");
        }

        @Override
        public Optional<PatternPicture> patternPicture(EnginePrompt prompt, String attention, int layer, int head,
                                                       Cancellation cancellation) {
            return Optional.empty();
        }

        @Override
        public void close() {
        }
    }

    static String expectedPiece(String prompt, int token) {
        return "<" + prompt + ":" + token + ">";
    }

    static String expected(String prompt, int tokens) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < tokens; i++) text.append(expectedPiece(prompt, i));
        return text.toString();
    }

    @Test
    void wellBehavedClientsStayLiveBesideMisbehavingOnes() throws Exception {
        Figures before = Figures.now();
        ServerLimits limits = ServerLimits.DEFAULTS.withIdleTimeout(Duration.ofSeconds(2)).withMaxConnections(64)
                .withRequestTimeout(Duration.ofSeconds(60));
        ConcurrentLinkedQueue<Long> latenciesMicros = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger busy = new AtomicInteger();
        AtomicInteger misbehaving = new AtomicInteger();
        AtomicInteger probes = new AtomicInteger();
        long maxProbeMillis;
        ThreadPeak peak = ThreadPeak.start();
        try (ApiServer server = ApiServer.start(new EchoEngine(), new ServerSettings("127.0.0.1", 0, 1 << 16, 8,
                false, null, limits))) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(SECONDS);
            List<Long> probeMillis = Collections.synchronizedList(new ArrayList<>());
            try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
                HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
                for (int w = 0; w < WELL_BEHAVED; w++) {
                    int worker = w;
                    clients.submit(() -> wellBehaved(server, http, worker, end, latenciesMicros, ok, busy, problems));
                }
                for (int n = 0; n < NEVER_READING; n++) {
                    clients.submit(() -> misbehave(server, end, misbehaving, problems, ServerSoakTest::neverRead));
                }
                for (int d = 0; d < DISCONNECTING; d++) {
                    clients.submit(() -> misbehave(server, end, misbehaving, problems, ServerSoakTest::disconnect));
                }
                for (int h = 0; h < HALF_SENDING; h++) {
                    clients.submit(() -> misbehave(server, end, misbehaving, problems, ServerSoakTest::halfSend));
                }
                clients.submit(() -> probe(server, http, end, probeMillis, probes, problems));
                clients.shutdown();
                assertTrue(clients.awaitTermination(SECONDS + 120, TimeUnit.SECONDS), "the clients stopped");
            }
            maxProbeMillis = probeMillis.stream().mapToLong(Long::longValue).max().orElse(-1);
            ServerLimitsTest.awaitHealth(Http.of(server), 0, 0);
        }
        peak.stop();
        Figures after = Figures.now();
        List<Long> sorted = latenciesMicros.stream().sorted().toList();
        System.out.printf("soak %d s: %d answered, %d busy (503), %d misbehaving clients run, %d probes (slowest %d"
                        + " ms); latency ms p50 %.1f p90 %.1f p99 %.1f max %.1f%n", SECONDS, ok.get(), busy.get(),
                misbehaving.get(), probes.get(), maxProbeMillis, percentile(sorted, 0.50), percentile(sorted, 0.90),
                percentile(sorted, 0.99), percentile(sorted, 1.0));
        System.out.printf("soak heap after GC %d MiB -> %d MiB; RSS %d MiB -> %d MiB; platform threads %d -> %d"
                        + " (peak %d, of which the server's %d)%n", before.heapBytes >> 20, after.heapBytes >> 20,
                before.rssBytes >> 20, after.rssBytes >> 20, before.threads, after.threads, peak.all, peak.server);
        assertTrue(problems.isEmpty(), problems.size() + " problems, first: " + problems.peek());
        assertTrue(ok.get() > 0, "well-behaved requests were answered");
        assertTrue(probes.get() > 0, "the liveness probe ran");
        long allowed = Math.max(before.heapBytes + (before.heapBytes / 10), before.heapBytes + (32L << 20));
        assertTrue(after.heapBytes <= allowed, "live heap " + (after.heapBytes >> 20) + " MiB after, "
                + (before.heapBytes >> 20) + " MiB before");
    }

    private static void wellBehaved(ApiServer server, HttpClient http, int worker, long end,
                                    ConcurrentLinkedQueue<Long> latencies, AtomicInteger ok, AtomicInteger busy,
                                    ConcurrentLinkedQueue<String> problems) {
        Random random = new Random(worker);
        for (int n = 0; System.nanoTime() < end && problems.isEmpty(); n++) {
            String prompt = "w" + worker + "-" + n;
            int tokens = 1 + random.nextInt(8);
            boolean stream = random.nextBoolean();
            long start = System.nanoTime();
            try {
                Optional<String> text = complete(server, http, prompt, tokens, stream);
                if (text.isEmpty()) {
                    busy.incrementAndGet();
                    Thread.sleep(20);
                    continue;
                }
                latencies.add((System.nanoTime() - start) / 1000);
                if (!text.get().equals(expected(prompt, tokens))) {
                    problems.add("request " + prompt + " got another's answer: " + text.get());
                }
                ok.incrementAndGet();
            } catch (Exception e) {
                problems.add("request " + prompt + " failed: " + e);
            }
        }
    }

    /** Every few seconds a 4-token request, retried on 503, must be answered within 30 s. */
    private static void probe(ApiServer server, HttpClient http, long end, List<Long> probeMillis,
                              AtomicInteger probes, ConcurrentLinkedQueue<String> problems) {
        for (int n = 0; System.nanoTime() < end && problems.isEmpty(); n++) {
            String prompt = "probe-" + n;
            long start = System.nanoTime();
            try {
                Optional<String> text = Optional.empty();
                while (text.isEmpty() && System.nanoTime() - start < LIVENESS.toNanos()) {
                    text = complete(server, http, prompt, 4, false);
                    if (text.isEmpty()) Thread.sleep(50);
                }
                long millis = (System.nanoTime() - start) / 1_000_000;
                if (text.isEmpty() || millis > LIVENESS.toMillis()) {
                    problems.add("a 4-token request was not answered within " + LIVENESS.toSeconds() + " s");
                } else if (!text.get().equals(expected(prompt, 4))) {
                    problems.add("the probe got another's answer: " + text.get());
                }
                probeMillis.add(millis);
                probes.incrementAndGet();
                Thread.sleep(1000);
            } catch (Exception e) {
                problems.add("probe " + prompt + " failed: " + e);
            }
        }
    }

    /** The text of a completion, or empty for a 503; any other status is a failure. */
    private static Optional<String> complete(ApiServer server, HttpClient http, String prompt, int tokens,
                                             boolean stream) throws IOException, InterruptedException {
        String body = "{\"prompt\": \"" + prompt + "\", \"max_tokens\": " + tokens + ", \"stream\": " + stream + "}";
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(server.uri().resolve("/v1/completions"))
                .timeout(LIVENESS).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 503) return Optional.empty();
        if (response.statusCode() != 200) {
            throw new IOException("status " + response.statusCode() + ": " + response.body());
        }
        if (!stream) return Optional.of(Http.JSON.readTree(response.body()).get("choices").get(0).get("text").asText());
        StringBuilder text = new StringBuilder();
        for (String line : response.body().split("\n")) {
            if (!line.startsWith("data: ") || line.equals("data: [DONE]")) continue;
            JsonNode chunk = Http.JSON.readTree(line.substring(6));
            if (chunk.has("error")) throw new IOException("error event: " + chunk);
            JsonNode choices = chunk.get("choices");
            if (choices != null && !choices.isEmpty() && choices.get(0).hasNonNull("text")) {
                text.append(choices.get(0).get("text").asText());
            }
        }
        return Optional.of(text.toString());
    }

    @FunctionalInterface
    private interface Misbehaviour {
        void run(ApiServer server, int n) throws Exception;
    }

    private static void misbehave(ApiServer server, long end, AtomicInteger count,
                                  ConcurrentLinkedQueue<String> problems, Misbehaviour misbehaviour) {
        for (int n = 0; System.nanoTime() < end && problems.isEmpty(); n++) {
            try {
                misbehaviour.run(server, n);
            } catch (IOException expected) {
                // The server closing a misbehaving connection is what should happen.
            } catch (Exception e) {
                problems.add("a misbehaving client failed unexpectedly: " + e);
            }
            count.incrementAndGet();
        }
    }

    /** A long stream of large tokens whose answer is never read, until the server gives up on it. */
    private static void neverRead(ApiServer server, int n) throws Exception {
        String body = "{\"prompt\": \"big-" + n + "\", \"max_tokens\": 4096, \"stream\": true}";
        try (RawHttp client = new RawHttp(server.uri())) {
            client.send(RawHttp.post("/v1/completions", body.length(), body));
            client.setTimeoutMillis(30_000);
            Thread.sleep(3000);
        }
    }

    /** A request whose client reads the first bytes of the answer and hangs up. */
    private static void disconnect(ApiServer server, int n) throws Exception {
        String body = "{\"prompt\": \"gone-" + n + "\", \"max_tokens\": 200, \"stream\": " + (n % 2 == 0) + "}";
        try (RawHttp client = new RawHttp(server.uri())) {
            client.send(RawHttp.post("/v1/completions", body.length(), body));
            Thread.sleep(100);
        }
    }

    /** Half a request, then silence until the server closes the connection. */
    private static void halfSend(ApiServer server, int n) throws Exception {
        try (RawHttp client = new RawHttp(server.uri())) {
            client.send(n % 2 == 0 ? "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"
                    : RawHttp.post("/v1/completions", 500, "{\"prompt\": \"half"));
            client.setTimeoutMillis(30_000);
            if (!client.closedByServer()) throw new IllegalStateException("a half-sent request was never closed");
        }
    }

    private static double percentile(List<Long> sortedMicros, double p) {
        if (sortedMicros.isEmpty()) return Double.NaN;
        int index = (int) Math.min(sortedMicros.size() - 1, Math.ceil(p * sortedMicros.size()) - 1);
        return sortedMicros.get(Math.max(0, index)) / 1000.0;
    }

    /** The most platform threads seen while the soak runs, all and the server's own ("minference-*"). */
    private static final class ThreadPeak {
        private volatile boolean running = true;
        private volatile int all;
        private volatile int server;
        private Thread sampler;

        static ThreadPeak start() {
            ThreadPeak peak = new ThreadPeak();
            peak.sampler = Thread.ofPlatform().daemon().name("soak-thread-sampler").start(() -> {
                while (peak.running) {
                    peak.all = Math.max(peak.all, ManagementFactory.getThreadMXBean().getThreadCount());
                    int own = (int) Thread.getAllStackTraces().keySet().stream()
                            .filter(t -> t.getName().startsWith("minference-")).count();
                    peak.server = Math.max(peak.server, own);
                    try {
                        Thread.sleep(200);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            return peak;
        }

        void stop() throws InterruptedException {
            running = false;
            sampler.join();
        }
    }

    /** Live heap after a GC, resident memory and platform threads of this JVM. */
    private record Figures(long heapBytes, long rssBytes, int threads) {
        static Figures now() throws Exception {
            var memory = ManagementFactory.getMemoryMXBean();
            for (int i = 0; i < 3; i++) {
                System.gc();
                Thread.sleep(100);
            }
            return new Figures(memory.getHeapMemoryUsage().getUsed(), rss(),
                    ManagementFactory.getThreadMXBean().getThreadCount());
        }

        private static long rss() throws IOException {
            Path status = Path.of("/proc/self/status");
            if (!Files.exists(status)) return -1;
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) << 10;
            }
            return -1;
        }
    }
}
