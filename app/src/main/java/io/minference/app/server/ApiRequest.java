package io.minference.app.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.minference.app.server.EnginePrompt.ChatMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A parsed and checked /v1/completions or /v1/chat/completions body. OpenAI's fields that change nothing here
 * (user, presence_penalty of 0, ...) are ignored; those that would change the answer in a way this server cannot
 * honour (n above 1, stop sequences, logprobs) are refused rather than silently dropped. The extension object
 * {@code "minference": {"attention": "dense", "sparse_threshold": 8192, "progress": true}} picks the prefill
 * attention, the sparse threshold, and asks for progress events in a stream.
 */
record ApiRequest(boolean chat, EnginePrompt prompt, GenerationRequest generation, boolean stream,
                  boolean includeUsage, boolean progress) {
    static final int COMPLETIONS_DEFAULT_MAX_TOKENS = 16;
    static final int CHAT_DEFAULT_MAX_TOKENS = 256;
    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant");

    static ApiRequest parse(ObjectNode body, boolean chat, String modelId) {
        JsonNode model = body.get("model");
        if (model != null && !model.isNull()) {
            if (!model.isTextual()) throw ApiException.invalid("model", "model must be a string");
            if (!model.asText().equals(modelId)) {
                throw new ApiException(404, "invalid_request_error", "model", "the model '" + model.asText()
                        + "' does not exist; this server serves '" + modelId + "'");
            }
        }
        EnginePrompt prompt = chat ? new EnginePrompt.Chat(messages(body.get("messages"))) : text(body.get("prompt"));
        int defaultMax = chat ? CHAT_DEFAULT_MAX_TOKENS : COMPLETIONS_DEFAULT_MAX_TOKENS;
        String maxField = chat && body.hasNonNull("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        int maxTokens = (int) integer(body, maxField, defaultMax, 1, Integer.MAX_VALUE);
        double temperature = number(body, "temperature", 1.0, 0, 2);
        double topP = number(body, "top_p", 1.0, 0, 1);
        if (body.hasNonNull("top_p") && topP == 0) throw ApiException.invalid("top_p", "top_p must be above 0");
        long seed = integer(body, "seed", 0, Long.MIN_VALUE, Long.MAX_VALUE);
        if (integer(body, "n", 1, 1, Integer.MAX_VALUE) != 1) {
            throw ApiException.invalid("n", "n must be 1: this server makes one choice per request");
        }
        JsonNode stop = body.get("stop");
        if (stop != null && !stop.isNull() && !(stop.isArray() && stop.isEmpty())) {
            throw ApiException.invalid("stop", "stop sequences are not supported by this server");
        }
        JsonNode logprobs = body.get("logprobs");
        if (logprobs != null && !logprobs.isNull() && !(logprobs.isBoolean() && !logprobs.asBoolean())) {
            throw ApiException.invalid("logprobs", "logprobs are not supported by this server");
        }
        boolean stream = bool(body, "stream", false);
        JsonNode streamOptions = body.get("stream_options");
        boolean includeUsage = streamOptions != null && streamOptions.isObject()
                && bool((ObjectNode) streamOptions, "include_usage", false);

        String attention = AttentionModes.DENSE;
        Integer threshold = null;
        boolean progress = false;
        JsonNode extension = body.get("minference");
        if (extension != null && !extension.isNull()) {
            if (!extension.isObject()) throw ApiException.invalid("minference", "minference must be an object");
            ObjectNode ext = (ObjectNode) extension;
            JsonNode mode = ext.get("attention");
            if (mode != null && !mode.isNull()) {
                if (!mode.isTextual()) throw ApiException.invalid("minference.attention", "attention must be a string");
                attention = mode.asText();
            }
            if (ext.hasNonNull("sparse_threshold")) {
                threshold = (int) integer(ext, "sparse_threshold", 0, 0, Integer.MAX_VALUE);
            }
            progress = bool(ext, "progress", false);
        }
        return new ApiRequest(chat, prompt,
                new GenerationRequest(maxTokens, temperature, topP, seed, attention, threshold),
                stream, includeUsage, progress);
    }

    private static EnginePrompt text(JsonNode prompt) {
        if (prompt == null || prompt.isNull()) throw ApiException.invalid("prompt", "prompt is required");
        if (prompt.isTextual()) return new EnginePrompt.Text(prompt.asText());
        if (prompt.isArray() && prompt.size() == 1 && prompt.get(0).isTextual()) {
            return new EnginePrompt.Text(prompt.get(0).asText());
        }
        throw ApiException.invalid("prompt", "prompt must be a string (or an array of exactly one string)");
    }

    private static List<ChatMessage> messages(JsonNode messages) {
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw ApiException.invalid("messages", "messages must be a non-empty array");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) throw ApiException.invalid(where, where + " must be an object");
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual() || !ROLES.contains(role.asText())) {
                throw ApiException.invalid(where + ".role", where + ".role must be one of " + ROLES);
            }
            out.add(new ChatMessage(role.asText().equals("developer") ? "system" : role.asText(),
                    content(m.get("content"), where + ".content")));
        }
        return out;
    }

    /** A string, or an array of {"type": "text", "text": ...} parts joined. */
    private static String content(JsonNode content, String where) {
        if (content != null && content.isTextual()) return content.asText();
        if (content != null && content.isArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonNode part : content) {
                if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw ApiException.invalid(where, where + ": only text parts are supported");
                }
                text.append(part.get("text").asText());
            }
            return text.toString();
        }
        throw ApiException.invalid(where, where + " must be a string or an array of text parts");
    }

    private static long integer(ObjectNode body, String field, long fallback, long min, long max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw ApiException.invalid(field, field + " must be an integer");
        }
        long value = v.asLong();
        if (value < min || value > max) {
            throw ApiException.invalid(field, field + " must be from " + min + " to " + max + ", got " + value);
        }
        return value;
    }

    private static double number(ObjectNode body, String field, double fallback, double min, double max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isNumber()) throw ApiException.invalid(field, field + " must be a number");
        double value = v.asDouble();
        if (!(value >= min && value <= max)) {
            throw ApiException.invalid(field, field + " must be from " + min + " to " + max + ", got " + value);
        }
        return value;
    }

    private static boolean bool(ObjectNode body, String field, boolean fallback) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isBoolean()) throw ApiException.invalid(field, field + " must be true or false");
        return v.asBoolean();
    }
}
