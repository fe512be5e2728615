package io.minference.app.server;

import static io.minference.app.server.ApiServerTest.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The page and the demo's endpoints, and the files folder that nothing may leave. */
class DemoEndpointsTest {
    @TempDir
    Path temp;
    private ApiServer server;
    private Http http;

    @BeforeEach
    void start() throws Exception {
        Path folder = Files.createDirectory(temp.resolve("texts"));
        Files.writeString(folder.resolve("sea.txt"), "The sea was calm. The ship sailed on! Was it late? Yes.");
        Files.writeString(temp.resolve("secret.txt"), "outside");
        Files.createSymbolicLink(folder.resolve("link.txt"), temp.resolve("secret.txt"));
        server = ApiServer.start(new ScriptedEngine(false, 0),
                new ServerSettings("127.0.0.1", 0, 1 << 16, 1, true, folder));
        http = Http.of(server);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void thePageAndItsAssetsComeFromTheJar() throws Exception {
        Http.Reply page = http.get("/");
        assertEquals(200, page.status());
        assertTrue(page.contentType().startsWith("text/html"));
        assertTrue(page.body().contains("<canvas id=\"chart\""));
        assertFalse(page.body().contains("http://") || page.body().contains("https://"), "no CDN, no remote asset");
        for (String asset : new String[] {"app.js", "chart.js", "pattern.js", "style.css"}) {
            Http.Reply reply = http.get("/assets/" + asset);
            assertEquals(200, reply.status(), asset);
            assertFalse(reply.body().contains("https://"), asset + " loads nothing remote");
        }
        assertTrue(http.get("/assets/app.js").contentType().startsWith("text/javascript"));
        assertError(http.get("/assets/missing.js"), 404, "no such page");
        // An encoded separator never reaches the endpoints: Jetty refuses the ambiguous path itself.
        assertError(http.get("/assets/..%2Fserver%2FApiServer.class"), 400, "Ambiguous URI path separator");
    }

    @Test
    void infoDescribesTheModelAndTheFiles() throws Exception {
        JsonNode info = http.get("/demo/info").json();
        assertEquals("scripted", info.get("model").asText());
        assertEquals(AttentionModes.ALL.size(), info.get("attention_modes").size());
        assertEquals("dense", info.get("available_modes").get(0).asText());
        assertEquals("[\"sea.txt\"]", info.get("files").toString(), "the link that leads out is not listed");
    }

    @Test
    void filesAreReadOnlyInsideTheFolder() throws Exception {
        Http.Reply sea = http.get("/demo/files/sea.txt");
        assertEquals(200, sea.status());
        assertTrue(sea.body().startsWith("The sea was calm."));
        assertError(http.get("/demo/files/..%2Fsecret.txt"), 400, "Ambiguous URI path separator");
        assertError(http.get("/demo/files/%2Fetc%2Fpasswd"), 400, "Ambiguous URI path separator");
        assertError(http.get("/demo/files/..%5Csecret.txt"), 400, "Suspicious Path Character");
        assertError(http.get("/demo/files/link.txt"), 403, "outside the folder");
        assertError(http.get("/demo/files/none.txt"), 404, "no file named none.txt");
        assertError(http.post("/demo/haystack", "{\"tokens\": 100, \"file\": \"../secret.txt\"}"), 403, "outside");
    }

    @Test
    void aHaystackHidesThePassKeyAtTheAskedDepth() throws Exception {
        JsonNode sample = http.post("/demo/haystack", "{\"tokens\": 600, \"depth\": 0, \"pass_key\": \"58213\"}")
                .json();
        String prompt = sample.get("prompt").asText();
        assertTrue(prompt.startsWith("The secret pass key is 58213. Remember it. 58213 is the pass key."), prompt);
        assertTrue(prompt.endsWith(" What is the secret pass key? The secret pass key is"));
        assertEquals(prompt, sample.get("context").asText() + sample.get("question").asText());
        int tokens = sample.get("prompt_tokens").asInt();
        assertEquals(1 + prompt.length(), tokens, "the scripted engine counts characters");
        assertTrue(tokens >= 600 && tokens < 600 + 80, "within one filler sentence of the length: " + tokens);

        JsonNode fromFile = http.post("/demo/haystack", "{\"tokens\": 200, \"depth\": 100, \"file\": \"sea.txt\"}")
                .json();
        String text = fromFile.get("context").asText();
        assertTrue(text.startsWith("The sea was calm. The ship sailed on! Was it late? Yes. The sea was calm."), text);
        assertTrue(text.matches(".*The secret pass key is \\d{5}\\. Remember it\\. \\d{5} is the pass key\\.$"), text);

        assertError(http.post("/demo/haystack", "{\"tokens\": 5}"), 400, "tokens must be an integer from 32");
        assertError(http.post("/demo/haystack", "{\"depth\": 101}"), 400, "depth");
        assertError(http.post("/demo/haystack", "{\"pass_key\": \"abc\"}"), 400, "digits");
    }

    @Test
    void thePatternSaysPlainlyWhenItIsNotAvailable() throws Exception {
        JsonNode reply = http.post("/demo/pattern", "{\"prompt\": \"hello\", \"layer\": 0, \"head\": 0}").json();
        assertFalse(reply.get("available").asBoolean());
        assertTrue(reply.get("reason").asText().startsWith("pattern not available"));
        assertError(http.post("/demo/pattern", "{\"layer\": 0}"), 400, "prompt must be a string");
    }
}
