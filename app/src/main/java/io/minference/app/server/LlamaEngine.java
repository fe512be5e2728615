package io.minference.app.server;

import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.generate.GenerationResult;
import io.minference.llama.generate.Generator;
import io.minference.llama.generate.SamplingOptions;
import io.minference.llama.tokenizer.Tokenizer;
import io.minference.runtime.Backend;
import io.minference.runtime.ProgressListener;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A {@link TextEngine} over a loaded model and the project's {@link Generator}. Generators are made on first use of
 * each attention mode and kept (on a GPU a generator holds the uploaded weights). Calls are serialized by the
 * server's gate; the methods are synchronized besides, as the engine may be shared.
 */
public final class LlamaEngine implements TextEngine {
    private final LlamaModel model;
    private final Backend backend;
    private final int blockSize;
    private final String id;
    private final Map<String, Generator> generators = new LinkedHashMap<>();

    /**
     * @param model     the loaded model; the engine closes it
     * @param backend   the backend; the engine closes it
     * @param id        the name clients see as "model"
     * @param blockSize prompt tokens per prefill block
     */
    public LlamaEngine(LlamaModel model, Backend backend, String id, int blockSize) {
        this.model = model;
        this.backend = backend;
        this.id = id;
        this.blockSize = blockSize;
    }

    @Override
    public ModelCard model() {
        LlamaConfig c = model.config();
        return new ModelCard(id, c.contextLength(), c.numLayers(), c.numHeads(), AttentionModes.ALL,
                AttentionModes.available());
    }

    @Override
    public int tokenCount(String text) {
        return model.tokenizer().encode(text).length;
    }

    @Override
    public synchronized Completion generate(EnginePrompt prompt, GenerationRequest request, TokenSink sink,
                                            Cancellation cancellation) {
        String mode = checkedMode(request.attention());
        int threshold = request.sparseThreshold() != null ? request.sparseThreshold()
                : AttentionModes.DEFAULT_SPARSE_THRESHOLD;
        int[] ids = encode(prompt);
        int context = model.config().contextLength();
        if (ids.length >= context) {
            throw ApiException.invalid(null, "the prompt is " + ids.length + " tokens; this model's context is "
                    + context + " tokens, and at least one must be left for the answer");
        }
        Generator generator = generator(mode, threshold);
        Tokenizer.StreamingDecoder decoder = model.tokenizer().streamingDecoder();
        StringBuilder text = new StringBuilder();
        ProgressListener progress = (stage, done, total) -> {
            if (cancellation.isCancelled()) throw new GenerationCancelledException();
            sink.progress(stage, done, total);
        };
        var sampling = new SamplingOptions((float) request.temperature(), (float) request.topP(), request.seed());
        GenerationResult result = generator.generate(ids, request.maxTokens(), sampling, token -> {
            emit(decoder.next(token), text, sink);
            if (cancellation.isCancelled()) throw new GenerationCancelledException();
        }, progress);
        emit(decoder.flush(), text, sink);
        String finish = result.stopReason().equals("eos") ? "stop" : "length";
        return new Completion(text.toString(), result.promptTokens(), result.generated().length,
                result.prefillNanos() / 1e9, result.decodeTokensPerSecond(),
                AttentionModes.pathTaken(mode, ids.length, threshold), finish);
    }

    @Override
    public synchronized Optional<PatternPicture> patternPicture(EnginePrompt prompt, String attention, int layer,
                                                                int head, Cancellation cancellation) {
        String mode = checkedMode(attention);
        LlamaConfig c = model.config();
        if (layer < 0 || layer >= c.numLayers()) {
            throw ApiException.invalid("layer", "layer must be from 0 to " + (c.numLayers() - 1) + ", got " + layer);
        }
        if (head < 0 || head >= c.numHeads()) {
            throw ApiException.invalid("head", "head must be from 0 to " + (c.numHeads() - 1) + ", got " + head);
        }
        int[] ids = encode(prompt);
        if (ids.length > c.contextLength()) {
            throw ApiException.invalid("prompt", "the prompt is " + ids.length + " tokens; this model's context is "
                    + c.contextLength() + " tokens");
        }
        return AttentionModes.patternIndex(model, backend, ids, mode, layer, head, cancellation)
                .map(index -> PatternPicture.of(index, 0, layer, head, mode, PatternPicture.MAX_CELLS));
    }

    private static String checkedMode(String attention) {
        if (!AttentionModes.ALL.contains(attention)) {
            throw ApiException.invalid("minference.attention", "unknown attention mode '" + attention
                    + "'; valid modes: " + String.join(", ", AttentionModes.ALL));
        }
        return attention;
    }

    private int[] encode(EnginePrompt prompt) {
        Tokenizer tokenizer = model.tokenizer();
        return switch (prompt) {
            case EnginePrompt.Text t -> ChatTemplate.withBos(tokenizer.bos(), tokenizer.encode(t.text()));
            case EnginePrompt.Chat chat -> ChatTemplate.encode(tokenizer, chat.messages());
        };
    }

    private Generator generator(String mode, int threshold) {
        String key = mode + "@" + threshold;
        Generator existing = generators.get(key);
        if (existing != null) return existing;
        Generator made = AttentionModes.generator(mode, threshold, model, backend, blockSize);
        generators.put(key, made);
        return made;
    }

    private static void emit(String piece, StringBuilder text, TokenSink sink) {
        if (piece.isEmpty()) return;
        text.append(piece);
        sink.text(piece);
    }

    @Override
    public synchronized void close() {
        generators.values().forEach(Generator::close);
        generators.clear();
        model.close();
        backend.close();
    }
}
