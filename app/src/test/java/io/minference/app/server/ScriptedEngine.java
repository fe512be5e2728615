package io.minference.app.server;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An engine for the server's own behaviour (queueing, cancellation, the page with every mode running) without a
 * model: it claims every attention mode, and emits "x" every few
 * milliseconds until its token budget is spent or the client goes away, optionally holding each generation until
 * released.
 */
final class ScriptedEngine implements TextEngine {
    final CountDownLatch release = new CountDownLatch(1);
    final CountDownLatch cancelled = new CountDownLatch(1);
    final CountDownLatch started = new CountDownLatch(1);
    final AtomicInteger generations = new AtomicInteger();
    private final boolean holdUntilReleased;
    private final long millisPerToken;
    private final PatternPicture picture;
    /** What each token writes; large pieces fill a client's socket buffers in a few tokens. */
    volatile String piece = "x";

    ScriptedEngine(boolean holdUntilReleased, long millisPerToken) {
        this(holdUntilReleased, millisPerToken, null);
    }

    /** @param picture what {@link #patternPicture} answers, or null for "not available" */
    ScriptedEngine(boolean holdUntilReleased, long millisPerToken, PatternPicture picture) {
        this.holdUntilReleased = holdUntilReleased;
        this.millisPerToken = millisPerToken;
        this.picture = picture;
    }

    @Override
    public ModelCard model() {
        return new ModelCard("scripted", 4096, 2, 4, AttentionModes.ALL, AttentionModes.ALL);
    }

    @Override
    public int tokenCount(String text) {
        return text.length();
    }

    @Override
    public Completion generate(EnginePrompt prompt, GenerationRequest request, TokenSink sink,
                               Cancellation cancellation) {
        generations.incrementAndGet();
        started.countDown();
        try {
            if (holdUntilReleased && !release.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("held");
            sink.progress("prefill", 0, 10);
            sink.progress("prefill", 10, 10);
            for (int i = 0; i < request.maxTokens(); i++) {
                if (cancellation.isCancelled()) {
                    cancelled.countDown();
                    throw new GenerationCancelledException();
                }
                sink.text(piece);
                Thread.sleep(millisPerToken);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        // Every mode "runs"; dense takes five times as long, so that a page shows a speedup of 5.00x, and the
        // sparse modes compute a fifth of the causal area.
        boolean dense = request.attention().equals("dense");
        return new Completion("x".repeat(request.maxTokens()), 10, request.maxTokens(), dense ? 0.5 : 0.1, 100,
                request.attention(), "length", List.of(), dense ? 1.0 : 0.2,
                dense ? null : "scripted patterns", Completion.NO_ENERGY);
    }

    /** Held like a generation when {@code holdUntilReleased}, and cancellable while held. */
    @Override
    public Optional<PatternPicture> patternPicture(EnginePrompt prompt, String attention, int layer, int head,
                                                   Cancellation cancellation) {
        started.countDown();
        try {
            while (holdUntilReleased && !release.await(millisPerToken, TimeUnit.MILLISECONDS)) {
                if (cancellation.isCancelled()) {
                    cancelled.countDown();
                    throw new GenerationCancelledException();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return Optional.ofNullable(picture);
    }

    @Override
    public void close() {
    }
}
