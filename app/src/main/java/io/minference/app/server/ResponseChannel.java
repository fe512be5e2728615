package io.minference.app.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The response of a generation, committed (status 200) only when the first byte must go out, so that a request
 * refused before the generation starts still gets its 4xx. Streams are server-sent events; a plain response sends a
 * space now and then while the model works (JSON allows leading whitespace), which is how a client that went away
 * is noticed: the write fails, and {@link #clientGone} turns true. Once committed, a failure can only be told in the
 * body, as OpenAI's error object. A write to a client that does not read blocks until the connector's idle
 * timeout fails it, which also counts as the client gone: that is the streamed response's write timeout.
 */
final class ResponseChannel {
    private static final long HEARTBEAT_NANOS = 100_000_000L;

    private final HttpCall call;
    private final boolean eventStream;
    private OutputStream out;
    private volatile boolean clientGone;
    private long lastWrite;

    ResponseChannel(HttpCall call, boolean eventStream) {
        this.call = call;
        this.eventStream = eventStream;
    }

    boolean committed() {
        return out != null;
    }

    boolean clientGone() {
        return clientGone;
    }

    /** A server-sent event: {@code data: json}, with an event name unless null. */
    void event(String name, JsonNode data) {
        String text = (name == null ? "" : "event: " + name + "\n") + "data: " + data + "\n\n";
        write(text);
    }

    /** The stream's end marker. */
    void done() {
        write("data: [DONE]\n\n");
    }

    /** Keeps a waiting or working request's connection checked: a comment in a stream, a space in JSON. */
    void heartbeat() {
        long now = System.nanoTime();
        if (out != null && now - lastWrite < HEARTBEAT_NANOS) return;
        write(eventStream ? ": working\n\n" : " ");
    }

    /**
     * Ends a committed response with OpenAI's error object: a stream's last event, or a plain response's whole body
     * (after the spaces sent so far).
     */
    void failCommitted(JsonNode error) throws IOException {
        if (eventStream) {
            event(null, error);
            close();
        } else {
            finishJson(200, error);
        }
    }

    /** Ends a plain response with its JSON body, committed or not. */
    void finishJson(int status, JsonNode body) throws IOException {
        if (out == null) {
            call.sendJson(status, body);
            return;
        }
        write(body.toString());
        close();
    }

    void close() {
        if (out == null) return;
        try {
            out.close();
        } catch (IOException e) {
            clientGone = true;
        }
    }

    private void write(String text) {
        if (clientGone) return;
        try {
            if (out == null) commit();
            out.write(text.getBytes(StandardCharsets.UTF_8));
            out.flush();
            lastWrite = System.nanoTime();
        } catch (IOException e) {
            clientGone = true;
        }
    }

    private void commit() {
        call.setHeader("X-Accel-Buffering", "no");
        out = call.open(200, eventStream ? "text/event-stream; charset=utf-8" : "application/json", -1);
    }
}
