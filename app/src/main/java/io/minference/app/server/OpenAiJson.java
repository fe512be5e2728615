package io.minference.app.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.minference.llama.generate.GenerationEnergy;
import java.util.List;

/**
 * The response objects of /v1/completions and /v1/chat/completions, whole and as stream chunks, in OpenAI's shapes.
 * Each final object also carries a "minference" object with the prefill's figures.
 */
final class OpenAiJson {
    private final String id;
    private final long created;
    private final String model;
    private final boolean chat;
    private final boolean logprobs;
    /** Characters of completion text before the next streamed token: text_offset in /v1/completions. */
    private int streamedOffset;

    OpenAiJson(String id, long created, String model, boolean chat) {
        this(id, created, model, chat, false);
    }

    /** @param logprobs whether the request asked for log-probabilities (its choices then carry them) */
    OpenAiJson(String id, long created, String model, boolean chat, boolean logprobs) {
        this.id = id;
        this.created = created;
        this.model = model;
        this.chat = chat;
        this.logprobs = logprobs;
    }

    /** The whole response of a request that did not stream. */
    ObjectNode completion(Completion c) {
        ObjectNode root = head(chat ? "chat.completion" : "text_completion");
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        if (chat) {
            ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            message.put("content", c.text());
        } else {
            choice.put("text", c.text());
        }
        putLogprobs(choice, c.logprobs(), 0);
        choice.put("finish_reason", c.finishReason());
        usage(root, c);
        figures(root, c);
        return root;
    }

    /** The chunk that opens a chat stream: the assistant's role, no content yet. */
    ObjectNode roleChunk() {
        ObjectNode root = head("chat.completion.chunk");
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode delta = choice.putObject("delta");
        delta.put("role", "assistant");
        delta.put("content", "");
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        return root;
    }

    ObjectNode pieceChunk(String text) {
        return pieceChunk(text, null);
    }

    /** A streamed piece of text, with the log-probabilities of the token that released it when they were asked for. */
    ObjectNode pieceChunk(String text, TokenLogprob logprob) {
        ObjectNode root = head(chat ? "chat.completion.chunk" : "text_completion");
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        if (chat) choice.putObject("delta").put("content", text);
        else choice.put("text", text);
        if (logprob == null) {
            choice.putNull("logprobs");
        } else {
            putLogprobs(choice, List.of(logprob), streamedOffset);
            streamedOffset += logprob.token().length();
        }
        choice.putNull("finish_reason");
        return root;
    }

    /**
     * The choice's "logprobs": null when not asked for; for chat {@code {"content": [{token, logprob, bytes,
     * top_logprobs}]}}; for completions {@code {tokens, token_logprobs, top_logprobs, text_offset}}, the offsets
     * counted in characters of the completion's text from {@code offset}.
     */
    private void putLogprobs(ObjectNode choice, List<TokenLogprob> tokens, int offset) {
        if (!logprobs) {
            choice.putNull("logprobs");
            return;
        }
        ObjectNode node = choice.putObject("logprobs");
        if (chat) {
            ArrayNode content = node.putArray("content");
            for (TokenLogprob t : tokens) {
                ObjectNode entry = chatEntry(content.addObject(), t);
                ArrayNode top = entry.putArray("top_logprobs");
                for (TokenLogprob alternative : t.top()) chatEntry(top.addObject(), alternative);
            }
            return;
        }
        ArrayNode texts = node.putArray("tokens");
        ArrayNode values = node.putArray("token_logprobs");
        ArrayNode tops = node.putArray("top_logprobs");
        ArrayNode offsets = node.putArray("text_offset");
        int at = offset;
        for (TokenLogprob t : tokens) {
            texts.add(t.token());
            values.add(t.logprob());
            ObjectNode top = tops.addObject();
            // Ids that decode to the same text (parts of a character) share a key: the most likely one keeps it.
            for (TokenLogprob alternative : t.top()) {
                if (!top.has(alternative.token())) top.put(alternative.token(), alternative.logprob());
            }
            offsets.add(at);
            at += t.token().length();
        }
    }

    private static ObjectNode chatEntry(ObjectNode entry, TokenLogprob t) {
        entry.put("token", t.token());
        entry.put("logprob", t.logprob());
        ArrayNode bytes = entry.putArray("bytes");
        for (byte b : t.bytes()) bytes.add(b & 0xff);
        return entry;
    }

    /** The last chunk with a choice: its finish reason, and the figures. */
    ObjectNode finishChunk(Completion c) {
        ObjectNode root = head(chat ? "chat.completion.chunk" : "text_completion");
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        if (chat) choice.putObject("delta");
        else choice.put("text", "");
        choice.putNull("logprobs");
        choice.put("finish_reason", c.finishReason());
        figures(root, c);
        return root;
    }

    /** The chunk that stream_options.include_usage asks for: no choices, the usage. */
    ObjectNode usageChunk(Completion c) {
        ObjectNode root = head(chat ? "chat.completion.chunk" : "text_completion");
        root.putArray("choices");
        usage(root, c);
        return root;
    }

    static ObjectNode progress(String stage, long done, long total) {
        ObjectNode p = HttpCall.JSON.createObjectNode();
        p.put("stage", stage);
        p.put("done", done);
        p.put("total", total);
        return p;
    }

    private ObjectNode head(String object) {
        ObjectNode root = HttpCall.JSON.createObjectNode();
        root.put("id", id);
        root.put("object", object);
        root.put("created", created);
        root.put("model", model);
        return root;
    }

    private static void usage(ObjectNode root, Completion c) {
        ObjectNode usage = root.putObject("usage");
        usage.put("prompt_tokens", c.promptTokens());
        usage.put("completion_tokens", c.completionTokens());
        usage.put("total_tokens", c.promptTokens() + c.completionTokens());
    }

    private static void figures(ObjectNode root, Completion c) {
        ObjectNode figures = root.putObject("minference");
        figures.put("attention", c.attentionPath());
        figures.put("prompt_tokens", c.promptTokens());
        figures.put("prefill_seconds", c.prefillSeconds());
        figures.put("decode_tokens_per_second", c.decodeTokensPerSecond());
        if (Double.isNaN(c.density())) figures.putNull("index_density");
        else figures.put("index_density", c.density());
        if (c.patterns() == null) figures.putNull("patterns");
        else figures.put("patterns", c.patterns());
        energy(figures, c.energy());
    }

    /**
     * The GPU's energy: the prefill's joules and mean watts, the decode's joules per generated token and mean watts;
     * where they were not measured these are null and {@code energy_unavailable} says why (never zeros).
     */
    static void energy(ObjectNode figures, GenerationEnergy energy) {
        if (!energy.measured()) {
            for (String field : ENERGY_FIELDS) figures.putNull(field);
            figures.put("energy_unavailable", energy.unavailableLine());
            return;
        }
        figures.put("prefill_joules", energy.prefill().joules());
        figures.put("prefill_mean_watts", energy.prefill().meanWatts());
        double perToken = energy.decodeJoulesPerToken();
        if (Double.isNaN(perToken)) {
            figures.putNull("decode_joules_per_token");
            figures.putNull("decode_mean_watts");
        } else {
            figures.put("decode_joules_per_token", perToken);
            figures.put("decode_mean_watts", energy.decode().meanWatts());
        }
    }

    private static final String[] ENERGY_FIELDS = {"prefill_joules", "prefill_mean_watts", "decode_joules_per_token",
            "decode_mean_watts"};
}
