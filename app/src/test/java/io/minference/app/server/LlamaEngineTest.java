package io.minference.app.server;

import static io.minference.app.server.CpuSessions.cpuSession;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.config.KvCacheType;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.LlamaSession;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The engine over synthetic:tiny: streaming, progress, cancellation, and the modes it refuses. */
class LlamaEngineTest {
    private static LlamaEngine engine;

    @BeforeAll
    static void load() {
        engine = new LlamaEngine(cpuSession(ModelLoader.load("synthetic:tiny", null, ProgressListener.NONE), 16),
                "tiny");
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    private static GenerationRequest greedy(int maxTokens, String attention) {
        return new GenerationRequest(maxTokens, 0, 1, 0, attention, null);
    }

    @Test
    void streamsTheTextItReturnsAndReportsPrefillProgress() {
        List<String> pieces = new ArrayList<>();
        List<long[]> progress = new ArrayList<>();
        Completion c = engine.generate(new EnginePrompt.Text("The quick brown fox jumps"), greedy(5, "dense"),
                new TokenSink() {
                    public void text(String piece) {
                        pieces.add(piece);
                    }

                    public void progress(String stage, long done, long total) {
                        progress.add(new long[] {done, total});
                    }
                }, Cancellation.NEVER);
        assertEquals(String.join("", pieces), c.text());
        assertEquals(26, c.promptTokens());
        assertEquals("dense", c.attentionPath());
        assertTrue(c.prefillSeconds() > 0);
        // blocks of 16 tokens: 0, 16, 26 of 26
        assertEquals(List.of(0L, 16L, 26L), progress.stream().map(p -> p[0]).toList());
        assertTrue(progress.stream().allMatch(p -> p[1] == 26));
    }

    @Test
    void cancellationStopsBetweenTokensAndTheEngineStaysUsable() {
        AtomicInteger tokens = new AtomicInteger();
        assertThrows(GenerationCancelledException.class, () -> engine.generate(new EnginePrompt.Text("abc"),
                greedy(1000, "dense"), piece -> tokens.incrementAndGet(), () -> tokens.get() >= 3));
        assertEquals(3, tokens.get(), "stopped right after the third piece");

        assertThrows(GenerationCancelledException.class, () -> engine.generate(new EnginePrompt.Text("abc"),
                greedy(1000, "dense"), piece -> { }, () -> true), "a cancelled prefill stops too");
        Completion after = engine.generate(new EnginePrompt.Text("abc"), greedy(2, "dense"), piece -> { },
                Cancellation.NEVER);
        assertTrue(after.completionTokens() == 2 || after.finishReason().equals("stop"), after.toString());
    }

    @Test
    void refusesUnknownModesAndRunsEverySparseMode() {
        ApiException unknown = assertThrows(ApiException.class, () -> engine.generate(new EnginePrompt.Text("a"),
                greedy(1, "sparse"), piece -> { }, Cancellation.NEVER));
        assertEquals(400, unknown.status());
        assertEquals("minference.attention", unknown.param());
        Completion dense = engine.generate(new EnginePrompt.Text("The quick brown fox"), greedy(3, "dense"),
                piece -> { }, Cancellation.NEVER);
        for (String mode : AttentionModes.ALL) {
            Completion c = engine.generate(new EnginePrompt.Text("The quick brown fox"),
                    new GenerationRequest(3, 0, 1, 0, mode, 0), piece -> { }, Cancellation.NEVER);
            assertEquals(mode, c.attentionPath(), "threshold 0: the prompt takes the " + mode + " prefill");
            // A prompt this short is covered whole by every pattern's default budget: the same answer as dense.
            assertEquals(dense.text(), c.text(), mode);
        }
    }

    @Test
    void thePatternPictureChecksLayerAndHead() {
        assertEquals(400, assertThrows(ApiException.class, () -> engine.patternPicture(new EnginePrompt.Text("a"),
                "minference", 4, 0, Cancellation.NEVER)).status());
        assertEquals(400, assertThrows(ApiException.class, () -> engine.patternPicture(new EnginePrompt.Text("a"),
                "minference", 0, 8, Cancellation.NEVER)).status());
        assertTrue(engine.patternPicture(new EnginePrompt.Text("a"), "dense", 0, 0, Cancellation.NEVER).isEmpty(),
                "dense keeps every key: no sparse index to draw");
    }

    @Test
    void aPatternPromptLongerThanTheContextIs400NotAnInternalError() {
        int context = engine.model().contextLength();
        ApiException e = assertThrows(ApiException.class, () -> engine.patternPicture(
                new EnginePrompt.Text("a b c d ".repeat(context)), "minference", 0, 0, Cancellation.NEVER));
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains("this model's context is " + context + " tokens"), e.getMessage());
    }

    @Test
    void thePatternPictureStopsWhenCancelled() {
        assertThrows(GenerationCancelledException.class, () -> engine.patternPicture(
                new EnginePrompt.Text("Call me Ishmael. ".repeat(20)), "a-shape", 1, 2, () -> true));
    }

    @Test
    void thePatternPictureShowsTheKeysTheHeadKeeps() {
        String prompt = "Call me Ishmael. ".repeat(20);
        PatternPicture picture = engine.patternPicture(new EnginePrompt.Text(prompt), "a-shape", 1, 2,
                Cancellation.NEVER).orElseThrow();
        assertEquals(1, picture.layer());
        assertEquals(2, picture.head());
        assertEquals("a-shape", picture.pattern());
        assertTrue(picture.length() > 300, "the prompt's tokens: " + picture.length());
        // A prompt under one local window: a-shape keeps every causal key, through ranges only.
        assertEquals(1.0, picture.keptShare(), 1e-9);
        assertEquals(0, picture.columns());
    }

    /**
     * A session whose plan keeps an 8-bit (int8) cache gives the engine's per-mode plans that cache too: the first
     * token's log-probability comes from the prefill (full precision either way), the later ones from decode over
     * the codes.
     */
    @Test
    void everyModeKeepsTheSessionsKvCache() {
        String prompt = "The quick brown fox jumps over the lazy dog. ".repeat(3);
        GenerationRequest request = new GenerationRequest(20, 0, 1, 0, "dense", null, List.of(), 0, true);
        List<Double> plain, fp8;
        try (LlamaEngine bf16 = new LlamaEngine(cpuSession(ModelLoader.load("synthetic:tiny", null,
                ProgressListener.NONE), 16), "tiny");
             LlamaEngine quantized = new LlamaEngine(LlamaSession.openOwning(ModelLoader.load("synthetic:tiny",
                     null, ProgressListener.NONE), "cpu", AttentionPlan.dense().withKvCache(KvCacheType.INT8), 16),
                     "tiny")) {
            plain = bf16.generate(new EnginePrompt.Text(prompt), request, piece -> { }, Cancellation.NEVER)
                    .logprobs().stream().map(TokenLogprob::logprob).toList();
            fp8 = quantized.generate(new EnginePrompt.Text(prompt), request, piece -> { }, Cancellation.NEVER)
                    .logprobs().stream().map(TokenLogprob::logprob).toList();
        }
        System.out.println("greedy log-probabilities, bf16 " + plain + "\nint8 " + fp8);
        assertEquals(plain.get(0), fp8.get(0), 1e-6);
        boolean moved = false;
        for (int i = 1; i < Math.min(plain.size(), fp8.size()); i++) {
            moved |= Math.abs(plain.get(i) - fp8.get(i)) > 1e-6;
        }
        assertTrue(moved, "decode over the int8 cache moves some log-probability");
    }
}
