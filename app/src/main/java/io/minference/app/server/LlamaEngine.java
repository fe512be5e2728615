package io.minference.app.server;

import io.minference.llama.LlamaConfig;
import io.minference.llama.generate.GenerationResult;
import io.minference.llama.generate.SamplingOptions;
import io.minference.llama.generate.SparsePrefill;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.GenerationListener;
import io.minference.llama.session.LlamaSession;
import io.minference.llama.session.TokenLogprobs;
import io.minference.llama.tokenizer.ChatTemplate;
import io.minference.llama.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A {@link TextEngine} over one {@link LlamaSession}: the weights are opened (on a GPU, uploaded) once, and each
 * request names its attention plan. Calls are serialized by the server's gate; the methods are synchronized
 * besides, as the engine may be shared.
 */
public final class LlamaEngine implements TextEngine {
    private final LlamaSession session;
    private final String id;
    private final Path patterns;
    private final Map<String, AttentionPlan> plans = new HashMap<>();

    /**
     * @param session the model on its backend; the engine closes it
     * @param id      the name clients see as "model"
     */
    public LlamaEngine(LlamaSession session, String id) {
        this(session, id, null);
    }

    /**
     * @param patterns the pattern file the minference mode follows, or null for its default budget; read and checked
     *                 against the model here, so that its errors come before the server starts
     */
    public LlamaEngine(LlamaSession session, String id, Path patterns) {
        this.session = session;
        this.id = id;
        this.patterns = patterns;
        if (patterns != null) plan("minference", AttentionModes.DEFAULT_SPARSE_THRESHOLD);
    }

    /** The backend in words, for the server's start-up line. */
    public String device() {
        return session.device();
    }

    @Override
    public ModelCard model() {
        LlamaConfig c = session.config();
        return new ModelCard(id, c.contextLength(), c.numLayers(), c.numHeads(), AttentionModes.ALL,
                AttentionModes.available());
    }

    @Override
    public int tokenCount(String text) {
        return session.tokenizer().encode(text).length;
    }

    @Override
    public synchronized Completion generate(EnginePrompt prompt, GenerationRequest request, TokenSink sink,
                                            Cancellation cancellation) {
        String mode = checkedMode(request.attention());
        int threshold = request.sparseThreshold() != null ? request.sparseThreshold()
                : AttentionModes.DEFAULT_SPARSE_THRESHOLD;
        int[] ids = encode(prompt);
        int context = session.config().contextLength();
        if (ids.length >= context) {
            throw ApiException.invalid(null, "the prompt is " + ids.length + " tokens; this model's context is "
                    + context + " tokens, and at least one must be left for the answer");
        }
        int left = context - ids.length;
        if (request.maxTokensExplicit() && request.maxTokens() > left) {
            throw ApiException.invalid("max_tokens", "max_tokens is " + request.maxTokens() + ", but the prompt's "
                    + ids.length + " tokens leave " + left + " of this model's context of " + context + " tokens");
        }
        AttentionPlan plan = plan(mode, threshold);
        var sampling = new SamplingOptions((float) request.temperature(), (float) request.topP(), request.seed());
        var generation = io.minference.llama.session.GenerationRequest.of(request.maxTokens())
                .withSampling(sampling).withAttention(plan).withStop(request.stop()).measuringDensity();
        if (request.wantsLogprobs()) generation = generation.withLogprobs(request.topLogprobs());
        List<TokenLogprob> logprobs = new ArrayList<>();
        GenerationResult result = session.generate(ids, generation, new GenerationListener() {
            @Override
            public void progress(String stage, long done, long total) {
                if (cancellation.isCancelled()) throw new GenerationCancelledException();
                sink.progress(stage, done, total);
            }

            @Override
            public void token(int token, String text, TokenLogprobs lp) {
                TokenLogprob logprob = lp == null ? null : logprob(lp);
                if (logprob != null) logprobs.add(logprob);
                sink.token(text, logprob);
                if (cancellation.isCancelled()) throw new GenerationCancelledException();
            }

            @Override
            public void finish(String text) {
                if (!text.isEmpty()) sink.text(text);
            }
        });
        String finish = switch (result.stopReason()) {
            case "eos", "stop" -> "stop";
            default -> "length";
        };
        // Which patterns the sparse prefill followed (a file, or the default budget), so that the page and a
        // recording can say what their speedup and density were measured with.
        String followed = result.attention().equals(LlamaSession.DENSE) ? null
                : plan.sparsePrefill().map(SparsePrefill::source).orElse(null);
        return new Completion(result.text(), result.promptTokens(), result.generated().length,
                result.prefillNanos() / 1e9, result.decodeTokensPerSecond(), result.attention(), finish, logprobs,
                result.density(), followed, result.energy());
    }

    /** A token's log-probabilities with the tokens' texts, as the API shows them. */
    private TokenLogprob logprob(TokenLogprobs lp) {
        List<TokenLogprob> top = new ArrayList<>();
        for (int k = 0; k < lp.topTokens().length; k++) {
            top.add(TokenLogprob.of(tokenText(lp.topTokens()[k]), lp.topLogprobs()[k], List.of()));
        }
        return TokenLogprob.of(tokenText(lp.token()), lp.logprob(), top);
    }

    private String tokenText(int token) {
        return session.tokenizer().decode(new int[] {token});
    }

    @Override
    public synchronized Optional<PatternPicture> patternPicture(EnginePrompt prompt, String attention, int layer,
                                                                int head, Cancellation cancellation) {
        String mode = checkedMode(attention);
        LlamaConfig c = session.config();
        if (layer < 0 || layer >= c.numLayers()) {
            throw ApiException.invalid("layer", "layer must be from 0 to " + (c.numLayers() - 1) + ", got " + layer);
        }
        if (head < 0 || head >= c.numHeads()) {
            throw ApiException.invalid("head", "head must be from 0 to " + (c.numHeads() - 1) + ", got " + head);
        }
        // Synthetic weights made on a GPU have no host copy for the CPU prefill that the picture comes from.
        if (!session.hasHostWeights()) return Optional.empty();
        int[] ids = encode(prompt);
        if (ids.length > c.contextLength()) {
            throw ApiException.invalid("prompt", "the prompt is " + ids.length + " tokens; this model's context is "
                    + c.contextLength() + " tokens");
        }
        GenerationListener cancellable = new GenerationListener() {
            @Override
            public void progress(String stage, long done, long total) {
                if (cancellation.isCancelled()) throw new GenerationCancelledException();
            }
        };
        return AttentionModes.patternKeys(session, ids, mode, patterns, layer, head, cancellable)
                .map(keys -> PatternPicture.of(keys, layer, head, mode, PatternPicture.MAX_CELLS));
    }

    private static String checkedMode(String attention) {
        if (!AttentionModes.ALL.contains(attention)) {
            throw ApiException.invalid("minference.attention", "unknown attention mode '" + attention
                    + "'; valid modes: " + String.join(", ", AttentionModes.ALL));
        }
        return attention;
    }

    private int[] encode(EnginePrompt prompt) {
        Tokenizer tokenizer = session.tokenizer();
        return switch (prompt) {
            case EnginePrompt.Text t -> ChatTemplate.withBos(tokenizer.bos(), tokenizer.encode(t.text()));
            case EnginePrompt.Chat chat -> ChatTemplate.encode(tokenizer, chat.messages().stream()
                    .map(m -> new ChatTemplate.ChatMessage(m.role(), m.content())).toList());
        };
    }

    private AttentionPlan plan(String mode, int threshold) {
        return plans.computeIfAbsent(mode + "@" + threshold,
                key -> AttentionModes.plan(mode, threshold, session.config(), patterns)
                        .withKvCache(session.attention().kvCache())
                        .withKvOffload(session.attention().kvOffload()));
    }

    @Override
    public synchronized void close() {
        session.close();
    }
}
