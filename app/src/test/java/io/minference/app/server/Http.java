package io.minference.app.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

/** A java.net.http client of one server, for the tests. */
record Http(URI base, HttpClient client) {
    static final ObjectMapper JSON = new ObjectMapper();

    static Http of(ApiServer server) {
        return new Http(server.uri(), HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build());
    }

    record Reply(int status, String contentType, String body) {
        JsonNode json() throws IOException {
            return JSON.readTree(body);
        }

        /** The error object's message, checking OpenAI's error shape on the way. */
        String errorMessage() throws IOException {
            JsonNode error = json().get("error");
            if (error == null || !error.get("message").isTextual() || !error.get("type").isTextual()
                    || !error.has("param") || !error.has("code")) {
                throw new AssertionError("not an OpenAI error object: " + body);
            }
            return error.get("message").asText();
        }
    }

    Reply get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(base.resolve(path)).GET().build());
    }

    Reply post(String path, String body) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    /** The lines of a streamed response, as they arrive. */
    List<String> postLines(String path, String body) throws IOException, InterruptedException {
        HttpResponse<Stream<String>> response = client.send(
                HttpRequest.newBuilder(base.resolve(path)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofLines());
        if (response.statusCode() != 200) throw new AssertionError("status " + response.statusCode());
        if (!response.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream")) {
            throw new AssertionError("not an event stream: " + response.headers());
        }
        return response.body().toList();
    }

    Reply send(HttpRequest request) throws IOException, InterruptedException {
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        return new Reply(response.statusCode(), response.headers().firstValue("Content-Type").orElse(""),
                response.body());
    }
}
