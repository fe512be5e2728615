package io.minference.app.server;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The response objects of /v1/completions and /v1/chat/completions, whole and as stream chunks, in OpenAI's shapes.
 * Each final object also carries a "minference" object with the prefill's figures.
 */
final class OpenAiJson {
    private final String id;
    private final long created;
    private final String model;
    private final boolean chat;

    OpenAiJson(String id, long created, String model, boolean chat) {
        this.id = id;
        this.created = created;
        this.model = model;
        this.chat = chat;
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
        choice.putNull("logprobs");
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
        ObjectNode root = head(chat ? "chat.completion.chunk" : "text_completion");
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        if (chat) choice.putObject("delta").put("content", text);
        else choice.put("text", text);
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        return root;
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
    }
}
