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
 * honour (n above 1, tools, a response_format other than text) are refused rather than silently dropped. Stop
 * sequences and log-probabilities are honoured. The extension object
 * {@code "minference": {"attention": "dense", "sparse_threshold": 32768, "progress": true}} picks the prefill
 * attention, the sparse threshold, and asks for progress events in a stream.
 */
record ApiRequest(boolean chat, EnginePrompt prompt, GenerationRequest generation, boolean stream,
                  boolean includeUsage, boolean progress) {
    static final int COMPLETIONS_DEFAULT_MAX_TOKENS = 16;
    static final int CHAT_DEFAULT_MAX_TOKENS = 256;
    static final int MAX_STOP = 4;
    static final int MAX_COMPLETION_LOGPROBS = 5;
    static final int MAX_CHAT_TOP_LOGPROBS = 20;
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
        String maxField = body.hasNonNull("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        boolean maxGiven = body.hasNonNull(maxField);
        int maxTokens = (int) integer(body, maxField, defaultMax, 1, Integer.MAX_VALUE);
        double temperature = number(body, "temperature", 1.0, 0, 2);
        double topP = number(body, "top_p", 1.0, 0, 1);
        if (body.hasNonNull("top_p") && topP == 0) throw ApiException.invalid("top_p", "top_p must be above 0");
        long seed = integer(body, "seed", 0, Long.MIN_VALUE, Long.MAX_VALUE);
        if (integer(body, "n", 1, 1, Integer.MAX_VALUE) != 1) {
            throw ApiException.invalid("n", "n must be 1: this server makes one choice per request");
        }
        List<String> stop = stop(body.get("stop"));
        int topLogprobs = chat ? chatLogprobs(body) : completionLogprobs(body);
        refuseAnswerShaping(body);
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
                new GenerationRequest(maxTokens, temperature, topP, seed, attention, threshold, stop, topLogprobs,
                        maxGiven),
                stream, includeUsage, progress);
    }

    /** A string or an array of up to 4 non-empty strings, as OpenAI takes them; null or [] for none. */
    private static List<String> stop(JsonNode stop) {
        if (stop == null || stop.isNull()) return List.of();
        if (stop.isTextual()) {
            if (stop.asText().isEmpty()) throw ApiException.invalid("stop", "a stop sequence must not be empty");
            return List.of(stop.asText());
        }
        if (!stop.isArray()) throw ApiException.invalid("stop", "stop must be a string or an array of strings");
        if (stop.size() > MAX_STOP) {
            throw ApiException.invalid("stop", "stop takes up to " + MAX_STOP + " sequences, got " + stop.size());
        }
        List<String> sequences = new ArrayList<>();
        for (JsonNode s : stop) {
            if (!s.isTextual() || s.asText().isEmpty()) {
                throw ApiException.invalid("stop", "each stop sequence must be a non-empty string");
            }
            sequences.add(s.asText());
        }
        return sequences;
    }

    /** /v1/completions: logprobs is the number of alternatives per token, 0 to 5; absent or null for none. */
    private static int completionLogprobs(ObjectNode body) {
        if (body.hasNonNull("top_logprobs")) {
            throw ApiException.invalid("top_logprobs", "top_logprobs belongs to chat completions; /v1/completions"
                    + " takes logprobs as the number of alternatives (0 to " + MAX_COMPLETION_LOGPROBS + ")");
        }
        return (int) integer(body, "logprobs", -1, 0, MAX_COMPLETION_LOGPROBS);
    }

    /** /v1/chat/completions: logprobs true, with top_logprobs alternatives (0 to 20, default 0). */
    private static int chatLogprobs(ObjectNode body) {
        boolean wanted = bool(body, "logprobs", false);
        if (!wanted) {
            if (body.hasNonNull("top_logprobs")) {
                throw ApiException.invalid("top_logprobs", "top_logprobs needs logprobs: true");
            }
            return -1;
        }
        return (int) integer(body, "top_logprobs", 0, 0, MAX_CHAT_TOP_LOGPROBS);
    }

    /** Fields that would shape the answer in ways this server does not do: tools, structured output. */
    private static void refuseAnswerShaping(ObjectNode body) {
        for (String field : new String[] {"tools", "functions"}) {
            JsonNode v = body.get(field);
            if (v != null && !v.isNull() && !(v.isArray() && v.isEmpty())) {
                throw ApiException.invalid(field, field + " are not supported by this server: it calls no tools");
            }
        }
        for (String field : new String[] {"tool_choice", "function_call"}) {
            JsonNode v = body.get(field);
            if (v != null && !v.isNull() && !(v.isTextual() && v.asText().equals("none"))) {
                throw ApiException.invalid(field, field + " is not supported by this server: it calls no tools");
            }
        }
        JsonNode format = body.get("response_format");
        if (format != null && !format.isNull() && !(format.isObject() && "text".equals(format.path("type").asText())
                && format.size() == 1)) {
            throw ApiException.invalid("response_format", "response_format other than {\"type\": \"text\"} is not"
                    + " supported by this server: it does not constrain its output");
        }
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
