package io.minference.app.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * /v1/completions and /v1/chat/completions: parse, wait for the generation's turn, run it, and answer whole or as
 * server-sent events. A client that goes away is noticed at the next write (a token, a progress event, or a
 * heartbeat) and its generation is cancelled between two tokens or two prefill blocks.
 */
final class CompletionsEndpoint {
    private static final System.Logger LOG = System.getLogger(CompletionsEndpoint.class.getName());
    private static final long PROGRESS_EVERY_NANOS = 100_000_000L;

    private final TextEngine engine;
    private final GenerationGate gate;
    private final int maxBodyBytes;
    private final ServerLimits limits;

    CompletionsEndpoint(TextEngine engine, GenerationGate gate, int maxBodyBytes, ServerLimits limits) {
        this.engine = engine;
        this.gate = gate;
        this.maxBodyBytes = maxBodyBytes;
        this.limits = limits;
    }

    void handle(HttpCall call, boolean chat) throws IOException {
        ObjectNode body = call.jsonBody(maxBodyBytes);
        String modelId = engine.model().id();
        ApiRequest request = ApiRequest.parse(body, chat, modelId);
        ResponseChannel channel = new ResponseChannel(call, request.stream());
        String id = (chat ? "chatcmpl-" : "cmpl-") + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
        OpenAiJson json = new OpenAiJson(id, System.currentTimeMillis() / 1000, modelId, chat,
                request.generation().wantsLogprobs());
        checkMode(request.generation().attention(), engine.model());
        checkMaxTokens(request.generation().maxTokens(), chat);
        Deadline deadline = Deadline.after(limits.requestTimeout());
        try (GenerationGate.Ticket ticket = gate.enter()) {
            // Nothing is written while waiting, so that a refusal found at the turn still gets its status.
            Sink sink = new Sink(request, channel, json);
            Completion completion = ticket.run(() -> call.clientGone() || deadline.expired(),
                    () -> engine.generate(request.prompt(), request.generation(), sink,
                            () -> channel.clientGone() || deadline.expired()));
            if (request.stream()) {
                sink.openChat();
                channel.event(null, json.finishChunk(completion));
                if (request.includeUsage()) channel.event(null, json.usageChunk(completion));
                channel.done();
                channel.close();
            } else {
                channel.finishJson(200, json.completion(completion));
            }
        } catch (GenerationCancelledException e) {
            if (deadline.expired()) {
                fail(call, channel, deadline.error());
                return;
            }
            LOG.log(System.Logger.Level.INFO, "generation " + id + " cancelled: the client went away");
            channel.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail(call, channel, new ApiException(503, "server_error", null, "the server is shutting down"));
        } catch (ApiException e) {
            fail(call, channel, e);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "generation " + id + " failed", e);
            String message = e.getMessage() != null ? e.getMessage() : e.getClass().getName();
            fail(call, channel, new ApiException(500, "server_error", null, "the generation failed: " + message));
        }
    }

    /** An unknown or unavailable mode is refused at once, without waiting for a turn. */
    private static void checkMode(String mode, ModelCard card) {
        if (!card.attentionModes().contains(mode)) {
            throw ApiException.invalid("minference.attention", "unknown attention mode '" + mode
                    + "'; valid modes: " + String.join(", ", card.attentionModes()));
        }
        if (!card.availableModes().contains(mode)) throw AttentionModes.unavailable(mode);
    }

    /** The server's own cap on max_tokens, so that no request holds the generation thread for its whole context. */
    private void checkMaxTokens(int maxTokens, boolean chat) {
        if (maxTokens > limits.maxTokensLimit()) {
            throw ApiException.invalid(chat ? "max_completion_tokens" : "max_tokens", "max_tokens is " + maxTokens
                    + "; this server allows at most " + limits.maxTokensLimit() + " (--max-tokens-limit)");
        }
    }

    /** Before the response is committed, a proper status; after, the error object in the body or the stream. */
    private static void fail(HttpCall call, ResponseChannel channel, ApiException e) throws IOException {
        if (!channel.committed()) {
            call.sendError(e);
            return;
        }
        channel.failCommitted(HttpCall.errorBody(e));
    }

    /** Streams text and progress, or keeps a plain response's connection checked. */
    private static final class Sink implements TokenSink {
        private final ApiRequest request;
        private final ResponseChannel channel;
        private final OpenAiJson json;
        private long lastProgress;
        private boolean roleSent;

        Sink(ApiRequest request, ResponseChannel channel, OpenAiJson json) {
            this.request = request;
            this.channel = channel;
            this.json = json;
        }

        @Override
        public void text(String piece) {
            if (!request.stream()) {
                channel.heartbeat();
                return;
            }
            openChat();
            channel.event(null, json.pieceChunk(piece));
        }

        /** A token with log-probabilities streams as a chunk of its own, even when it releases no text yet. */
        @Override
        public void token(String piece, TokenLogprob logprob) {
            if (logprob == null || !request.stream()) {
                TokenSink.super.token(piece, logprob);
                return;
            }
            openChat();
            channel.event(null, json.pieceChunk(piece, logprob));
        }

        @Override
        public void progress(String stage, long done, long total) {
            if (!request.stream() || !request.progress()) {
                channel.heartbeat();
                return;
            }
            long now = System.nanoTime();
            if (done < total && done > 0 && now - lastProgress < PROGRESS_EVERY_NANOS) return;
            lastProgress = now;
            openChat();
            channel.event("progress", OpenAiJson.progress(stage, done, total));
        }

        /** A chat stream's first chunk names the assistant's role. */
        void openChat() {
            if (!request.chat() || roleSent) return;
            roleSent = true;
            channel.event(null, json.roleChunk());
        }
    }
}
