package io.minference.app.server;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.BufferUtil;

/**
 * One request and its response: reading a size-limited JSON body and answering with JSON, bytes, a file or a
 * stream. Every write blocks the calling thread; the connector's idle timeout bounds how long a write to a client
 * that does not read (or a read from a client that does not send) may block.
 */
final class HttpCall {
    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final Request request;
    private final Response response;
    private boolean bodyRead;
    private boolean closeAfterResponse;
    private volatile boolean peerClosed;

    HttpCall(Request request, Response response) {
        this.request = request;
        this.response = response;
    }

    String method() {
        return request.getMethod();
    }

    String path() {
        return request.getHttpURI().getDecodedPath();
    }

    void setHeader(String name, String value) {
        response.getHeaders().put(name, value);
    }

    boolean committed() {
        return response.isCommitted();
    }

    /** The connection ends after this response: its request was not read whole, or cannot be trusted. */
    void closeAfterResponse() {
        closeAfterResponse = true;
    }

    /**
     * Whether the client closed its side of the connection, asked while its request waits or works and nothing is
     * written: the server reads from the connection, which is otherwise left unread until the response is done. A
     * closed or reset connection reads as gone. A byte that arrives instead belongs to a request pipelined behind
     * this one, which HTTP clients do not do after a POST; it is dropped, and the connection closes after this
     * response, so that the next request is never read from its middle.
     */
    boolean clientGone() {
        if (peerClosed) return true;
        if (!bodyRead) return false;
        EndPoint endPoint = request.getConnectionMetaData().getConnection().getEndPoint();
        if (!endPoint.isOpen() || endPoint.isInputShutdown()) return peerClosed = true;
        ByteBuffer probe = BufferUtil.allocate(1);
        try {
            int read = endPoint.fill(probe);
            if (read < 0) return peerClosed = true;
            if (read > 0) closeAfterResponse = true;
            return false;
        } catch (IOException e) {
            return peerClosed = true;
        }
    }

    /**
     * The body as a JSON object.
     *
     * @throws ApiException 413 above {@code maxBytes} (the connection then closes, its body unread), 408 when the
     *                      body stalls past the idle timeout, 400 for anything but a JSON object
     */
    ObjectNode jsonBody(int maxBytes) {
        if (request.getLength() > maxBytes) throw tooLarge(maxBytes);
        byte[] body;
        try (InputStream in = Content.Source.asInputStream(request)) {
            body = in.readNBytes(maxBytes + 1);
        } catch (IOException e) {
            closeAfterResponse();
            throw new ApiException(408, "invalid_request_error", null,
                    "the request body did not arrive in time: " + e.getMessage());
        }
        if (body.length > maxBytes) throw tooLarge(maxBytes);
        bodyRead = true;
        if (body.length == 0) throw ApiException.invalid(null, "the request has no body: a JSON object is expected");
        JsonNode node;
        try {
            node = JSON.readTree(body);
        } catch (JacksonException e) {
            throw ApiException.invalid(null, "the body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.invalid(null, "the body is not valid JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw ApiException.invalid(null, "the body must be a JSON object");
        }
        return (ObjectNode) node;
    }

    void sendJson(int status, JsonNode body) throws IOException {
        send(status, "application/json", JSON.writeValueAsBytes(body));
    }

    void sendError(ApiException e) throws IOException {
        sendJson(e.status(), errorBody(e));
    }

    void send(int status, String contentType, byte[] body) throws IOException {
        try (OutputStream out = open(status, contentType, body.length)) {
            out.write(body);
        }
    }

    /** Streams {@code file} from disk a buffer at a time, never whole in memory. */
    void sendFile(int status, String contentType, Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file);
             OutputStream out = open(status, contentType, Files.size(file))) {
            in.transferTo(out);
        }
    }

    /**
     * Commits the status and headers and returns the body's stream; {@code length} -1 when unknown (the body then
     * goes chunked). Closing the stream ends the response.
     */
    OutputStream open(int status, String contentType, long length) {
        var headers = response.getHeaders();
        headers.put(HttpHeader.CONTENT_TYPE, contentType);
        headers.put(HttpHeader.CACHE_CONTROL, "no-store");
        headers.put("X-Content-Type-Options", "nosniff");
        if (length >= 0) headers.put(HttpHeader.CONTENT_LENGTH, length);
        if (closeAfterResponse) headers.put(HttpHeader.CONNECTION, "close");
        response.setStatus(status);
        return Content.Sink.asOutputStream(response);
    }

    /** OpenAI's error object. */
    static ObjectNode errorBody(ApiException e) {
        ObjectNode body = JSON.createObjectNode();
        ObjectNode error = body.putObject("error");
        error.put("message", e.getMessage());
        error.put("type", e.type());
        if (e.param() == null) error.putNull("param");
        else error.put("param", e.param());
        error.putNull("code");
        return body;
    }

    private ApiException tooLarge(int maxBytes) {
        closeAfterResponse();
        return new ApiException(413, "invalid_request_error", null,
                "the request body is larger than the server's limit of " + maxBytes + " bytes");
    }
}
