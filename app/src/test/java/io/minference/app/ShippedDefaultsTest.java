package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a fresh clone has with nothing beside it: {@code demo} without {@code --model} or {@code --files} serves the
 * tiny pass-key model shipped in models/ (Q8_0) and the Moby-Dick excerpt shipped in texts/ (xz), and answers a
 * pass key hidden in a haystack cut from that text. The demo runs as a separate JVM, as bin/minference starts it,
 * and is stopped at the end.
 */
class ShippedDefaultsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TEXT = "moby-dick-chapters-1-27.txt.xz";

    @TempDir
    Path dir;

    @Test
    void theShippedFilesAreFoundFromTheClassFolder() {
        assertTrue(ShippedDefaults.model().isPresent(), "the shipped model is found from app/target/classes");
        assertTrue(Files.isRegularFile(ShippedDefaults.texts().orElseThrow().resolve(TEXT)));
    }

    @Test
    void demoWithoutModelOrFilesFindsThePassKeyWithTheShippedModelAndText() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Path err = dir.resolve("err.txt");
        Process demo = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-Xmx1g", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "demo", "--port", "0", "--device", "cpu")
                .redirectError(err.toFile()).start();
        try {
            String line = new BufferedReader(new InputStreamReader(demo.getInputStream(), StandardCharsets.UTF_8))
                    .readLine();
            Matcher address = Pattern.compile("demo page and API at (http://\\S+) \\(model "
                    + "tiny-passkey-llama-q8_0.gguf").matcher(String.valueOf(line));
            assertTrue(address.find(), "startup line: " + line + "; stderr: " + Files.readString(err));
            assertTrue(Files.readString(err).contains("minference: no --model given: using the shipped tiny pass-key"
                    + " model "), Files.readString(err));
            URI base = URI.create(address.group(1));
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

            JsonNode info = JSON.readTree(send(client, base.resolve("/demo/info"), null));
            List<String> files = JSON.convertValue(info.get("files"), JSON.getTypeFactory()
                    .constructCollectionType(List.class, String.class));
            assertEquals(List.of(TEXT), files);

            JsonNode haystack = JSON.readTree(send(client, base.resolve("/demo/haystack"),
                    "{\"tokens\": 1024, \"depth\": 40, \"file\": \"" + TEXT + "\", \"pass_key\": \"58213\"}"));
            assertTrue(haystack.get("context").asText().contains("Ishmael"), "the filler is cut from Moby-Dick");
            String request = JSON.createObjectNode().put("prompt", haystack.get("prompt").asText())
                    .put("max_tokens", 6).put("temperature", 0).toString();
            JsonNode completion = JSON.readTree(send(client, base.resolve("/v1/completions"), request));
            String answer = completion.get("choices").get(0).get("text").asText();
            System.out.println("shipped model, 1024-token Moby-Dick haystack, pass key 58213: answer '" + answer + "'");
            assertTrue(answer.strip().startsWith("58213"), "answer '" + answer + "'");
        } finally {
            demo.destroy();
            if (!demo.waitFor(20, TimeUnit.SECONDS)) demo.destroyForcibly();
        }
    }

    private static String send(HttpClient client, URI uri, String jsonBody) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(120));
        if (jsonBody != null) {
            request.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(jsonBody));
        }
        HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), uri + ": " + response.body());
        return response.body();
    }
}
