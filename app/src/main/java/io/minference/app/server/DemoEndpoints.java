package io.minference.app.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * What the demo page needs besides the API: the page itself, the model's description, sample haystacks, the texts
 * of the files folder, and the pattern picture of one head.
 */
final class DemoEndpoints {
    private final TextEngine engine;
    private final GenerationGate gate;
    private final FolderFiles files;
    private final int maxBodyBytes;
    private final ServerLimits limits;

    DemoEndpoints(TextEngine engine, GenerationGate gate, FolderFiles files, int maxBodyBytes, ServerLimits limits) {
        this.engine = engine;
        this.gate = gate;
        this.files = files;
        this.maxBodyBytes = maxBodyBytes;
        this.limits = limits;
    }

    /** Answers the demo's paths; false when {@code path} is none of them. */
    boolean handle(HttpCall call, String path) throws IOException {
        switch (path) {
            case "/", "/index.html" -> asset(call, "index.html");
            case "/demo/info" -> {
                ApiServer.requireMethod(call, "GET");
                info(call);
            }
            case "/demo/haystack" -> {
                ApiServer.requireMethod(call, "POST");
                haystack(call);
            }
            case "/demo/pattern" -> {
                ApiServer.requireMethod(call, "POST");
                pattern(call);
            }
            case "/demo/files" -> {
                ApiServer.requireMethod(call, "GET");
                listFiles(call);
            }
            default -> {
                if (path.startsWith("/assets/")) asset(call, path.substring("/assets/".length()));
                else if (path.startsWith("/demo/files/")) readFile(call, path.substring("/demo/files/".length()));
                else return false;
            }
        }
        return true;
    }

    private void asset(HttpCall call, String name) throws IOException {
        ApiServer.requireMethod(call, "GET");
        StaticAssets.Asset asset = StaticAssets.find(name).orElseThrow(() ->
                new ApiException(404, "invalid_request_error", null, "no such page: " + call.path()));
        call.send(200, asset.contentType(), asset.bytes());
    }

    private void info(HttpCall call) throws IOException {
        ModelCard card = engine.model();
        ObjectNode body = HttpCall.JSON.createObjectNode();
        body.put("model", card.id());
        body.put("context_length", card.contextLength());
        body.put("layers", card.layers());
        body.put("heads", card.heads());
        ArrayNode all = body.putArray("attention_modes");
        card.attentionModes().forEach(all::add);
        ArrayNode available = body.putArray("available_modes");
        card.availableModes().forEach(available::add);
        body.put("default_sparse_threshold", AttentionModes.DEFAULT_SPARSE_THRESHOLD);
        ArrayNode names = body.putArray("files");
        if (files != null) files.list().forEach(names::add);
        call.sendJson(200, body);
    }

    private void haystack(HttpCall call) throws IOException {
        ObjectNode request = call.jsonBody(maxBodyBytes);
        int context = engine.model().contextLength();
        int length = intField(request, "tokens", 1024, 32, context - 1);
        int depth = intField(request, "depth", 50, 0, 100);
        String passKey = request.hasNonNull("pass_key") ? request.get("pass_key").asText()
                : String.valueOf(ThreadLocalRandom.current().nextInt(10000, 100000));
        if (!passKey.matches("\\d{1,12}")) throw ApiException.invalid("pass_key", "pass_key must be digits");
        Supplier<String> filler;
        if (request.hasNonNull("file")) {
            if (files == null) throw ApiException.invalid("file", "this server was started without a files folder");
            filler = Haystack.textFiller(files.read(request.get("file").asText()));
        } else {
            filler = Haystack.generatedFiller(request.path("seed").asLong(0));
        }
        Haystack.Sample sample = Haystack.build(engine::tokenCount, length, depth, passKey, filler);
        ObjectNode body = HttpCall.JSON.createObjectNode();
        body.put("context", sample.context());
        body.put("question", Haystack.QUESTION);
        body.put("prompt", sample.prompt());
        body.put("pass_key", sample.passKey());
        body.put("prompt_tokens", sample.promptTokens());
        body.put("depth", sample.depthPercent());
        call.sendJson(200, body);
    }

    private void pattern(HttpCall call) throws IOException {
        ObjectNode request = call.jsonBody(maxBodyBytes);
        JsonNode prompt = request.get("prompt");
        if (prompt == null || !prompt.isTextual()) throw ApiException.invalid("prompt", "prompt must be a string");
        String attention = request.path("attention").asText("minference");
        int layer = intField(request, "layer", 0, Integer.MIN_VALUE, Integer.MAX_VALUE);
        int head = intField(request, "head", 0, Integer.MIN_VALUE, Integer.MAX_VALUE);
        // The picture runs the prompt's prefill up to the layer: a generation's worth of work, so it waits its turn
        // at the gate, stops at the deadline, and stops when its client leaves.
        Deadline deadline = Deadline.after(limits.requestTimeout());
        Cancellation abandoned = () -> call.clientGone() || deadline.expired();
        Optional<PatternPicture> picture;
        try (GenerationGate.Ticket ticket = gate.enter()) {
            picture = ticket.run(abandoned, () -> engine.patternPicture(new EnginePrompt.Text(prompt.asText()),
                    attention, layer, head, abandoned));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, "server_error", null, "the server is shutting down");
        } catch (GenerationCancelledException e) {
            if (deadline.expired()) throw deadline.error();
            throw new ApiException(499, "invalid_request_error", null, "the client went away");
        }
        ObjectNode body = HttpCall.JSON.createObjectNode();
        body.put("available", picture.isPresent());
        if (picture.isEmpty()) {
            body.put("reason", "pattern not available: " + attention + " attention keeps every key");
        } else {
            PatternPicture p = picture.get();
            body.put("layer", p.layer());
            body.put("head", p.head());
            body.put("pattern", p.pattern());
            body.put("length", p.length());
            body.put("cells", p.cells());
            body.put("ranges", p.ranges());
            body.put("columns", p.columns());
            body.put("kept_share", p.keptShare());
            ArrayNode ranges = body.putArray("range_share");
            for (float v : p.rangeShare()) ranges.add(Math.round(v * 1000) / 1000.0);
            ArrayNode columns = body.putArray("column_share");
            for (float v : p.columnShare()) columns.add(Math.round(v * 1000) / 1000.0);
        }
        call.sendJson(200, body);
    }

    private void listFiles(HttpCall call) throws IOException {
        ObjectNode body = HttpCall.JSON.createObjectNode();
        ArrayNode names = body.putArray("files");
        if (files != null) files.list().forEach(names::add);
        call.sendJson(200, body);
    }

    private void readFile(HttpCall call, String name) throws IOException {
        ApiServer.requireMethod(call, "GET");
        if (files == null) {
            throw new ApiException(404, "invalid_request_error", "file", "this server was started without a files"
                    + " folder");
        }
        files.send(call, name);
    }

    private static int intField(ObjectNode body, String field, int fallback, int min, int max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < min || v.asInt() > max) {
            throw ApiException.invalid(field, field + " must be an integer from " + min + " to " + max);
        }
        return v.asInt();
    }
}
