package io.minference.app.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The HTTP server: OpenAI's /v1/models, /v1/completions and /v1/chat/completions, /health, and with
 * {@link ServerSettings#demoPage} the demo page. Each request runs on a thread of its own; generations pass
 * through one {@link GenerationGate}, which bounds how many requests wait. Every refusal is a JSON error in OpenAI's shape. The engine stays the caller's
 * to close.
 */
public final class ApiServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ApiServer.class.getName());
    private static final int FILE_LIMIT_BYTES = 64 << 20;

    private final TextEngine engine;
    private final HttpServer server;
    private final ExecutorService executor;
    private final GenerationGate gate;
    private final CompletionsEndpoint completions;
    private final DemoEndpoints demo;
    private final long created = System.currentTimeMillis() / 1000;

    private ApiServer(TextEngine engine, ServerSettings settings) throws IOException {
        this.engine = engine;
        this.gate = new GenerationGate(settings.queueCapacity());
        this.completions = new CompletionsEndpoint(engine, gate, settings.maxBodyBytes());
        FolderFiles files = settings.filesFolder() == null ? null
                : new FolderFiles(settings.filesFolder(), FILE_LIMIT_BYTES);
        this.demo = settings.demoPage() ? new DemoEndpoints(engine, gate, files, settings.maxBodyBytes()) : null;
        this.server = HttpServer.create(new InetSocketAddress(settings.host(), settings.port()), 64);
        // Platform threads, not virtual ones: a CUDA context is current per OS thread, and a virtual thread may move
        // to another carrier between two launches of a generation it runs.
        this.executor = Executors.newCachedThreadPool(Thread.ofPlatform().name("minference-http-", 0).daemon()
                .factory());
        server.setExecutor(executor);
        server.createContext("/", this::route);
    }

    /** Binds and starts serving; {@link #port} tells the port when 0 was asked. */
    public static ApiServer start(TextEngine engine, ServerSettings settings) throws IOException {
        ApiServer api = new ApiServer(engine, settings);
        api.server.start();
        return api;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** http://host:port/ as clients on this machine reach it. */
    public URI uri() {
        InetSocketAddress address = server.getAddress();
        String host = address.getAddress().isAnyLocalAddress() ? "127.0.0.1" : address.getHostString();
        if (host.contains(":")) host = "[" + host + "]";
        return URI.create("http://" + host + ":" + address.getPort() + "/");
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    static void requireMethod(HttpCall call, String method) {
        if (!call.method().equals(method)) {
            call.exchange().getResponseHeaders().set("Allow", method);
            throw new ApiException(405, "invalid_request_error", null,
                    call.path() + " takes " + method + ", not " + call.method());
        }
    }

    private void route(HttpExchange exchange) {
        HttpCall call = new HttpCall(exchange);
        try {
            dispatch(call);
        } catch (ApiException e) {
            answerError(call, e);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "client connection lost: " + e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "request " + call.path() + " failed", e);
            answerError(call, new ApiException(500, "server_error", null, "internal error: " + e));
        } finally {
            exchange.close();
        }
    }

    private void dispatch(HttpCall call) throws IOException {
        String path = call.path();
        switch (path) {
            case "/health" -> {
                requireMethod(call, "GET");
                call.sendJson(200, health());
            }
            case "/v1/models" -> {
                requireMethod(call, "GET");
                ObjectNode list = HttpCall.JSON.createObjectNode();
                list.put("object", "list");
                list.putArray("data").add(modelObject());
                call.sendJson(200, list);
            }
            case "/v1/completions" -> {
                requireMethod(call, "POST");
                completions.handle(call, false);
            }
            case "/v1/chat/completions" -> {
                requireMethod(call, "POST");
                completions.handle(call, true);
            }
            default -> {
                if (path.startsWith("/v1/models/")) {
                    requireMethod(call, "GET");
                    String id = path.substring("/v1/models/".length());
                    if (!id.equals(engine.model().id())) {
                        throw new ApiException(404, "invalid_request_error", "model",
                                "the model '" + id + "' does not exist");
                    }
                    call.sendJson(200, modelObject());
                } else if (demo == null || !demo.handle(call, path)) {
                    throw new ApiException(404, "invalid_request_error", null, "no such endpoint: " + path);
                }
            }
        }
    }

    private ObjectNode health() {
        ObjectNode body = HttpCall.JSON.createObjectNode();
        body.put("status", "ok");
        body.put("model", engine.model().id());
        body.put("running", gate.running());
        body.put("queued", gate.queued());
        return body;
    }

    private ObjectNode modelObject() {
        ModelCard card = engine.model();
        ObjectNode model = HttpCall.JSON.createObjectNode();
        model.put("id", card.id());
        model.put("object", "model");
        model.put("created", created);
        model.put("owned_by", "minference");
        model.put("context_length", card.contextLength());
        ArrayNode modes = model.putArray("attention_modes");
        card.availableModes().forEach(modes::add);
        return model;
    }

    private static void answerError(HttpCall call, ApiException e) {
        try {
            call.sendError(e);
        } catch (IOException | IllegalStateException alreadyAnswered) {
            LOG.log(System.Logger.Level.DEBUG, "could not send the error: " + alreadyAnswered.getMessage());
        }
    }
}
