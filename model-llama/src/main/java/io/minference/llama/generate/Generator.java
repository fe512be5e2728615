package io.minference.llama.generate;

import io.minference.llama.LlamaModel;
import io.minference.llama.forward.LlamaForward;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.GenerationListener;
import io.minference.llama.session.GenerationRequest;
import io.minference.llama.session.LlamaSession;
import io.minference.llama.session.TokenLogprobs;
import io.minference.runtime.Backend;
import io.minference.runtime.ProgressListener;
import java.util.function.IntConsumer;

/**
 * Token-in, token-out generation over a {@link LlamaSession}: the older entry point, kept for callers that pass ids
 * and want ids back. New code uses the session, which adds stop sequences, log-probabilities, last-N logits and
 * layer observation. The backend stays the caller's to close.
 */
public final class Generator implements AutoCloseable {
    private final LlamaSession session;

    public Generator(LlamaModel model, Backend backend) {
        this(model, backend, LlamaForward.DEFAULT_BLOCK_SIZE, null);
    }

    /**
     * @param blockSize prompt tokens per block
     * @param sparse    the sparse prefill of long prompts, or null for dense; its plan is checked against the model
     *                  here, before any work
     */
    public Generator(LlamaModel model, Backend backend, int blockSize, SparsePrefill sparse) {
        this.session = LlamaSession.open(model, backend,
                sparse == null ? AttentionPlan.dense() : AttentionPlan.sparse(sparse), blockSize);
    }

    /**
     * @param prompt    prompt ids, BOS included where wanted; a prompt that does not fit the context is refused
     *                  with an IllegalArgumentException naming both lengths
     * @param maxTokens generated tokens at most, the prompt excluded
     * @param onToken   receives each generated id as soon as it is sampled (stop tokens are not passed on)
     * @param progress  prefill progress, in tokens
     */
    public GenerationResult generate(int[] prompt, int maxTokens, SamplingOptions sampling, IntConsumer onToken,
                                     ProgressListener progress) {
        IntConsumer sink = onToken == null ? token -> { } : onToken;
        ProgressListener stages = progress == null ? ProgressListener.NONE : progress;
        GenerationRequest request = GenerationRequest.of(maxTokens)
                .withSampling(sampling == null ? SamplingOptions.GREEDY : sampling);
        return session.generate(prompt, request, new GenerationListener() {
            @Override
            public void progress(String stage, long done, long total) {
                stages.progress(stage, done, total);
            }

            @Override
            public void token(int token, String text, TokenLogprobs logprobs) {
                sink.accept(token);
            }
        });
    }

    /** See {@link LlamaSession#score}. */
    public ScoreResult score(int[] context, int[] continuation, ProgressListener progress) {
        return session.score(context, continuation, progress == null ? ProgressListener.NONE : progress);
    }

    /** log softmax(logits)[token], in double. */
    static double logSoftmax(float[] logits, int token) {
        return LlamaSession.logSoftmax(logits, token);
    }

    @Override
    public void close() {
        session.close();
    }
}
