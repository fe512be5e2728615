package io.minference.app.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.util.concurrent.Executors;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The HTTP server: OpenAI's /v1/models, /v1/completions and /v1/chat/completions, /health, and with
 * {@link ServerSettings#demoPage} the demo page. Every refusal is a JSON error in OpenAI's shape, Jetty's own
 * included ({@link JsonErrorHandler}). The engine stays the caller's to close.
 *
 * <p>Jetty rather than the JDK's HttpServer, because the JDK's cannot be bounded the way a server facing any client
 * must be: it answers a malformed request with an HTML page that no handler can replace, drops a request with too
 * large headers without a 431, and has no way to close a connection after a 413 whose body is left unread. Jetty
 * reads headers on its selector without holding a thread, answers 431 over {@link ServerLimits#maxHeaderBytes},
 * closes idle connections (stalled headers, stalled bodies, clients that do not read what is written) after
 * {@link ServerLimits#idleTimeout}, and stops accepting at {@link ServerLimits#maxConnections}.
 *
 * <p>Each request runs on a virtual thread of its own, so that slow clients cost no platform thread; a
 * generation runs on the {@link GenerationGate}'s one platform thread, which a CUDA context can stay current on.
 * Platform threads are thus bounded: Jetty's pool ({@value #PLATFORM_THREADS}) and the gate's one.
 */
public final class ApiServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ApiServer.class.getName());
    private static final int FILE_LIMIT_BYTES = 64 << 20;
    private static final int PLATFORM_THREADS = 16;
    /** Bodies slower than this are cut off with a 408, so that a trickle cannot keep a request open for ever. */
    private static final long MIN_BODY_BYTES_PER_SECOND = 1024;
    private static final long AT_LIMIT_IDLE_MILLIS = 5_000;

    private final TextEngine engine;
    private final Server server;
    private final ServerConnector connector;
    private final ServerSettings settings;
    private final GenerationGate gate;
    private final CompletionsEndpoint completions;
    private final DemoEndpoints demo;
    private final long created = System.currentTimeMillis() / 1000;

    private ApiServer(TextEngine engine, ServerSettings settings) throws IOException {
        this.engine = engine;
        this.settings = settings;
        ServerLimits limits = settings.limits();
        this.gate = new GenerationGate(settings.queueCapacity());
        this.completions = new CompletionsEndpoint(engine, gate, settings.maxBodyBytes(), limits);
        FolderFiles files = settings.filesFolder() == null ? null
                : new FolderFiles(settings.filesFolder(), FILE_LIMIT_BYTES, limits.concurrentFileReads());
        this.demo = settings.demoPage() ? new DemoEndpoints(engine, gate, files, settings.maxBodyBytes(), limits)
                : null;

        QueuedThreadPool pool = new QueuedThreadPool(PLATFORM_THREADS);
        pool.setName("minference-http");
        pool.setDaemon(true);
        pool.setVirtualThreadsExecutor(Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name("minference-request-", 0).factory()));
        this.server = new Server(pool);
        HttpConfiguration http = new HttpConfiguration();
        http.setRequestHeaderSize(limits.maxHeaderBytes());
        http.setSendServerVersion(false);
        http.setMinRequestDataRate(MIN_BODY_BYTES_PER_SECOND);
        this.connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
        connector.setHost(settings.host());
        connector.setPort(settings.port());
        connector.setIdleTimeout(limits.idleTimeout().toMillis());
        server.addConnector(connector);
        NetworkConnectionLimit connectionLimit = new NetworkConnectionLimit(limits.maxConnections(), connector);
        // At the limit, connections that make no progress give their place up sooner.
        connectionLimit.setEndPointIdleTimeout(Math.min(limits.idleTimeout().toMillis(), AT_LIMIT_IDLE_MILLIS));
        server.addBean(connectionLimit);
        server.setErrorHandler(new JsonErrorHandler());
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                route(new HttpCall(request, response), callback);
                return true;
            }
        });
    }

    /** Binds and starts serving; {@link #port} tells the port when 0 was asked. */
    public static ApiServer start(TextEngine engine, ServerSettings settings) throws IOException {
        ApiServer api = new ApiServer(engine, settings);
        try {
            api.server.start();
        } catch (Exception e) {
            api.close();
            if (e instanceof IOException io) throw io;
            throw new IOException(e.getMessage(), e);
        }
        return api;
    }

    public int port() {
        return connector.getLocalPort();
    }

    /** http://host:port/ as clients on this machine reach it. */
    public URI uri() {
        String host = settings.host();
        if (host.isEmpty() || host.equals("0.0.0.0") || host.equals("::")) host = "127.0.0.1";
        if (host.contains(":") && !host.startsWith("[")) host = "[" + host + "]";
        return URI.create("http://" + host + ":" + port() + "/");
    }

    @Override
    public void close() {
        try {
            server.stop();
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "the server did not stop cleanly: " + e.getMessage());
        }
        gate.close();
    }

    static void requireMethod(HttpCall call, String method) {
        if (!call.method().equals(method)) {
            call.setHeader("Allow", method);
            throw new ApiException(405, "invalid_request_error", null,
                    call.path() + " takes " + method + ", not " + call.method());
        }
    }

    /** Answers one request; the callback ends the exchange, failed when the connection was lost midway. */
    private void route(HttpCall call, Callback callback) {
        try {
            dispatch(call);
        } catch (ApiException e) {
            answerError(call, e);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "client connection lost: " + e.getMessage());
            callback.failed(e);
            return;
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "request " + call.path() + " failed", e);
            answerError(call, new ApiException(500, "server_error", null, "internal error: " + e));
        }
        callback.succeeded();
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
        if (call.committed()) {
            LOG.log(System.Logger.Level.DEBUG, "could not send the error, the response had begun: " + e.getMessage());
            return;
        }
        try {
            call.sendError(e);
        } catch (IOException | IllegalStateException alreadyAnswered) {
            LOG.log(System.Logger.Level.DEBUG, "could not send the error: " + alreadyAnswered.getMessage());
        }
    }
}
