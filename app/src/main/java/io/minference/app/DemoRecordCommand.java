package io.minference.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.minference.app.server.ApiServer;
import io.minference.app.server.LlamaEngine;
import io.minference.app.server.ServerSettings;
import io.minference.config.ConfigOverrides;
import io.minference.config.Limits;
import io.minference.config.MinferenceConfig;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.LlamaSession;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs the demo page's scenario without a browser and saves the API responses the page would have shown: for a
 * machine with a GPU and no browser. It starts the server in this process (as {@code demo} does, on a free loopback
 * port) and makes the page's own requests in the page's order: /demo/info; per length a /demo/haystack, one untimed
 * warm-up per mode (before the first timed run only), the two streamed completions in alternating order, and the
 * /demo/pattern of the MInference run. Each response goes to a JSON file under --out, and summary.md gets one table
 * row per length: both prefill times, the speedup beside the fraction of the causal area MInference computed, and
 * both answers; then the GPU's energy per length and mode (prefill joules, decode joules per generated token, mean
 * power), or the one line saying why it was not measured.
 */
@Command(name = "demo-record", mixinStandardHelpOptions = true,
        description = "Runs the demo page's requests for haystacks of the given lengths and saves every API response"
                + " as JSON under --out, with a summary table (summary.md): for a GPU machine without a browser.")
final class DemoRecordCommand extends CliCommand {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final List<String> MODES = List.of("dense", "minference");

    @Option(names = "--model", paramLabel = "PATH",
            description = "A .gguf file, a llama2.c checkpoint or synthetic:NAME (or model: in --config).")
    String model;

    @Option(names = "--tokenizer", paramLabel = "PATH", description = "A tokenizer file overriding the model's own.")
    Path tokenizer;

    @Option(names = "--device", paramLabel = "D", description = "auto (default), cpu, cuda or cuda:N.")
    String device;

    @Option(names = "--patterns", paramLabel = "FILE",
            description = "Per-head patterns for the MInference runs: the project's YAML or MInference's JSON, as"
                    + " bench --patterns (default: every head vertical-slash 1000/6096).")
    Path patterns;

    @Option(names = "--files", paramLabel = "DIR", description = "A folder of texts for the haystack filler.")
    Path files;

    @Option(names = "--filler", paramLabel = "NAME",
            description = "The file of --files the haystacks are made of (default: generated sentences).")
    String filler;

    @Option(names = "--lengths", paramLabel = "N[,N...]", converter = TokenLengths.class, required = true,
            description = "Haystack lengths in tokens, k = 1024, e.g. 16k or 128k.")
    List<Integer> lengths;

    @Option(names = "--depth", paramLabel = "PERCENT", defaultValue = "50", description = "Pass key depth (default: 50).")
    int depth;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "12",
            description = "Answer tokens per run (default: ${DEFAULT-VALUE}, enough for a 5-digit key).")
    int maxTokens;

    @Option(names = "--layer", paramLabel = "L", defaultValue = "0", description = "The pattern's layer (default: 0).")
    int layer;

    @Option(names = "--head", paramLabel = "H", defaultValue = "0", description = "The pattern's head (default: 0).")
    int head;

    @Option(names = "--pattern-max-tokens", paramLabel = "N", converter = TokenLengths.class, defaultValue = "16k",
            description = "Longest prompt whose pattern picture is recorded (default: 16k): the picture comes from a"
                    + " dense CPU prefill up to its layer, minutes at 128K tokens of an 8B model.")
    List<Integer> patternMaxTokens;

    @Option(names = "--out", paramLabel = "DIR", required = true, description = "Folder for the JSON files.")
    Path out;

    @Override
    int run() throws Exception {
        check("--device", device, Limits::device);
        check("--depth", depth, d -> d >= 0 && d <= 100 ? Optional.empty()
                : Optional.of("must be from 0 to 100, got " + d));
        check("--max-tokens", maxTokens, n -> Limits.maxTokens(n));
        MinferenceConfig settings = settings(ConfigOverrides.NONE.withModel(model, tokenizer).withDevice(device));
        if (settings.model() == null) throw missing("'--model=PATH' (or model: in the --config file)");
        Inputs.requireModel(settings.model());
        Inputs.requirePatterns(patterns(settings));
        Files.createDirectories(out);
        LlamaSession session;
        try (ProgressBar progress = new ProgressBar(err(), stderrIsTerminal())) {
            session = LlamaSession.load(settings.model(), settings.tokenizer(), settings.device(),
                    config -> AttentionPlan.dense(), settings.prefill().blockSize(), progress);
        }
        String id = ServerCommand.modelId(settings.model());
        try (LlamaEngine engine = new LlamaEngine(session, id, patterns(settings));
             ApiServer server = ApiServer.start(engine, new ServerSettings("127.0.0.1", 0,
                     ServerSettings.DEFAULT_MAX_BODY_BYTES, 1, true, files))) {
            record(server.uri(), engine.device());
        }
        return 0;
    }

    /** The pattern file of --patterns, else the configuration file's, else none (the default budget). */
    private Path patterns(MinferenceConfig settings) {
        return patterns != null ? patterns : settings.attention().patterns();
    }

    private void record(URI base, String device) throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        PrintWriter log = out();
        JsonNode info = call(client, base, "/demo/info", null);
        save("info.json", info);
        StringBuilder table = new StringBuilder();
        table.append("| tokens | first | dense prefill s | MInference prefill s | speedup | MInference computed"
                + " | dense answer | MInference answer |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
        boolean warmedUp = false;
        List<Runs> recorded = new ArrayList<>();
        String followed = "none (no MInference run)";
        for (int n = 0; n < lengths.size(); n++) {
            int tokens = lengths.get(n);
            ObjectNode hay = JSON.createObjectNode().put("tokens", tokens).put("depth", depth);
            if (filler != null) hay.put("file", filler);
            JsonNode haystack = call(client, base, "/demo/haystack", hay);
            save(tokens + "-haystack.json", summary(haystack));
            String prompt = haystack.get("context").asText() + " " + haystack.get("question").asText().strip();
            if (!warmedUp) {
                for (String mode : MODES) {
                    ObjectNode warm = completion("warm up ".repeat(32), mode, 1, false);
                    save("warm-up-" + mode + ".json", call(client, base, "/v1/completions", warm));
                }
                warmedUp = true;
            }
            List<String> order = n % 2 == 0 ? MODES : MODES.reversed();
            ObjectNode[] runs = new ObjectNode[2];
            for (String mode : order) {
                log.printf(Locale.ROOT, "%d tokens, %s…%n", tokens, mode);
                log.flush();
                ObjectNode run = stream(client, base, completion(prompt, mode, maxTokens, true));
                save(tokens + "-" + mode + ".json", run);
                runs[MODES.indexOf(mode)] = run;
            }
            JsonNode sparsePatterns = runs[1].path("minference").path("patterns");
            if (sparsePatterns.isTextual()) followed = sparsePatterns.asText();
            if (tokens <= patternMaxTokens.getFirst()) {
                ObjectNode pattern = JSON.createObjectNode().put("prompt", prompt).put("attention", "minference")
                        .put("layer", layer).put("head", head);
                save(tokens + "-pattern.json", call(client, base, "/demo/pattern", pattern));
            }
            table.append(row(tokens, order.getFirst(), runs[0], runs[1], haystack.path("pass_key").asText()));
            recorded.add(new Runs(tokens, runs[0], runs[1]));
        }
        table.append(System.lineSeparator()).append(energySection(recorded));
        // The header comes last: it names the patterns the MInference runs reported following.
        String summary = String.format(Locale.ROOT, "model %s on %s; pass key at %d%%; each mode warmed up once, then"
                + " the order alternates per length; MInference patterns: %s; its density counted inside"
                + " its timed prefill (on a GPU by a count per head on the device)%n%n", info.path("model").asText(),
                device, depth, followed) + table;
        Files.writeString(out.resolve("summary.md"), summary, StandardCharsets.UTF_8);
        log.print(summary);
        log.printf(Locale.ROOT, "saved under %s%n", out);
        log.flush();
    }

    private static ObjectNode completion(String prompt, String mode, int tokens, boolean stream) {
        ObjectNode request = JSON.createObjectNode().put("prompt", prompt).put("max_tokens", tokens)
                .put("temperature", 0).put("stream", stream);
        request.putObject("minference").put("attention", mode).put("sparse_threshold", 0).put("progress", stream);
        return request;
    }

    /** A streamed completion as the page reads it: the text, the finish reason, the figures, the progress seen. */
    private static ObjectNode stream(HttpClient client, URI base, ObjectNode request)
            throws IOException, InterruptedException {
        HttpResponse<InputStream> response = client.send(HttpRequest.newBuilder(base.resolve("/v1/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(request))).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        ObjectNode run = JSON.createObjectNode();
        StringBuilder text = new StringBuilder();
        int progressEvents = 0;
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(),
                StandardCharsets.UTF_8))) {
            if (response.statusCode() != 200) {
                throw new IOException("/v1/completions answered " + response.statusCode() + ": "
                        + reader.lines().reduce("", String::concat));
            }
            String event = null;
            for (String line; (line = reader.readLine()) != null; ) {
                if (line.startsWith("event: ")) event = line.substring(7);
                if (!line.startsWith("data: ") || line.equals("data: [DONE]")) continue;
                JsonNode data = JSON.readTree(line.substring(6));
                if ("progress".equals(event)) {
                    progressEvents++;
                } else if (data.has("error")) {
                    throw new IOException("the run failed: " + data.get("error").path("message").asText());
                } else if (data.path("choices").size() > 0) {
                    JsonNode choice = data.get("choices").get(0);
                    text.append(choice.path("text").asText());
                    if (!choice.path("finish_reason").isNull()) {
                        run.put("finish_reason", choice.get("finish_reason").asText());
                        run.set("minference", data.get("minference"));
                    }
                }
                event = null;
            }
        }
        run.put("text", text.toString());
        run.put("progress_events", progressEvents);
        return run;
    }

    private static String row(int tokens, String first, ObjectNode dense, ObjectNode sparse, String key) {
        double denseSeconds = dense.path("minference").path("prefill_seconds").asDouble();
        double sparseSeconds = sparse.path("minference").path("prefill_seconds").asDouble();
        JsonNode density = sparse.path("minference").path("index_density");
        return String.format(Locale.ROOT, "| %d | %s | %.3f | %.3f | %.2fx | %s | %s | %s |%n", tokens, first,
                denseSeconds, sparseSeconds, denseSeconds / sparseSeconds,
                density.isNumber() ? String.format(Locale.ROOT, "%.1f%%", 100 * density.asDouble()) : "not measured",
                answer(dense, key), answer(sparse, key));
    }

    /** One length's dense and MInference runs as saved. */
    record Runs(int tokens, JsonNode dense, JsonNode sparse) {
    }

    /**
     * The energy table: per length, each mode's prefill joules and decode joules per generated token with their
     * mean power; or, when a run measured none (no NVML, or the CPU), its one line instead of a table of zeros.
     */
    static String energySection(List<Runs> runs) {
        for (Runs r : runs) {
            for (JsonNode run : List.of(r.dense(), r.sparse())) {
                JsonNode figures = run.path("minference");
                if (!figures.path("prefill_joules").isNumber()) {
                    return figures.path("energy_unavailable").asText("energy: not measured") + "\n";
                }
            }
        }
        StringBuilder table = new StringBuilder("GPU energy (NVML's counter, the whole board), mean power in"
                + " brackets:\n\n| tokens | dense prefill | MInference prefill | dense decode | MInference decode |\n"
                + "| --- | --- | --- | --- | --- |\n");
        for (Runs r : runs) {
            JsonNode dense = r.dense().path("minference"), sparse = r.sparse().path("minference");
            table.append(String.format(Locale.ROOT, "| %d | %s | %s | %s | %s |%n", r.tokens(),
                    joules(dense, "prefill_joules", "prefill_mean_watts", "%.1f J"),
                    joules(sparse, "prefill_joules", "prefill_mean_watts", "%.1f J"),
                    joules(dense, "decode_joules_per_token", "decode_mean_watts", "%.2f J/token"),
                    joules(sparse, "decode_joules_per_token", "decode_mean_watts", "%.2f J/token")));
        }
        return table.toString();
    }

    private static String joules(JsonNode figures, String field, String watts, String format) {
        if (!figures.path(field).isNumber()) return "n/a";
        return String.format(Locale.ROOT, format + " (%.0f W)", figures.get(field).asDouble(),
                figures.path(watts).asDouble());
    }

    /** The answer as the table shows it: its text, and whether it gives the key first. */
    private static String answer(ObjectNode run, String key) {
        String text = run.path("text").asText().strip();
        return "`" + text.replace("|", "\\|").replace("`", "'") + "`" + (text.startsWith(key) ? " (key)" : "");
    }

    /** A haystack's response without its long context (its length is kept). */
    private static JsonNode summary(JsonNode haystack) {
        ObjectNode copy = haystack.deepCopy();
        copy.put("context_characters", haystack.path("context").asText().length());
        copy.remove("context");
        return copy;
    }

    /** GET without a body, POST with one; anything but a 200 is an error naming the path. */
    private JsonNode call(HttpClient client, URI base, String path, JsonNode body)
            throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path));
        request = body == null ? request.GET() : request.header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
        HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException(path + " answered " + response.statusCode() + ": " + response.body());
        }
        return JSON.readTree(response.body());
    }

    private void save(String name, JsonNode node) throws IOException {
        Files.writeString(out.resolve(name), JSON.writeValueAsString(node), StandardCharsets.UTF_8);
    }
}
