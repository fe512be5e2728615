package io.minference.llama.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LlamaModel;
import io.minference.llama.forward.LlamaForward;
import io.minference.llama.forward.RandomLlama;
import io.minference.llama.generate.GenerationResult;
import io.minference.llama.generate.SparsePrefill;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The session on the CPU: last-N logits against token-by-token decode, density, stop sequences, logprobs, observation. */
class LlamaSessionTest {
    private static final int CONTEXT = 300;
    private static final long SEED = 5;
    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
        System.out.println("LlamaSessionTest: random weights, seed " + SEED);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    private static LlamaModel model() {
        return RandomLlama.charModel(CONTEXT, SEED);
    }

    private static int[] prompt(int length) {
        int[] ids = new int[length];
        for (int i = 0; i < length; i++) ids[i] = (i * 31 + 7) % 97;
        return ids;
    }

    /** The logits after each of the prompt's tokens, one decode step at a time: the reference for last-N logits. */
    private static float[][] oneByOne(LlamaModel model, int[] tokens) {
        float[][] out = new float[tokens.length][];
        try (LlamaForward forward = new LlamaForward(model.config(), model.weights(), backend, tokens.length, 1)) {
            for (int i = 0; i < tokens.length; i++) out[i] = forward.decode(tokens[i]);
        }
        return out;
    }

    private static void assertClose(float[] expected, float[] actual, double bound, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            double tolerance = bound * Math.max(1, Math.abs(expected[i]));
            assertTrue(Math.abs(expected[i] - actual[i]) <= tolerance,
                    what + ": logit " + i + " is " + actual[i] + ", expected " + expected[i]);
        }
    }

    @Test
    void denseLastNLogitsMatchDecodingOneTokenAtATime() {
        try (LlamaModel model = model();
             LlamaSession session = LlamaSession.open(model, backend, AttentionPlan.dense(), 16)) {
            int[] tokens = prompt(70);
            float[][] expected = oneByOne(model, tokens);
            // 40 positions span three blocks of 16, and more than LOGIT_ROWS (32) rows.
            PrefillResult r = session.prefill(tokens, PrefillOptions.lastLogits(40));
            assertEquals(40, r.logits().length);
            assertEquals(LlamaSession.DENSE, r.attention());
            assertEquals(1.0, r.density());
            for (int i = 0; i < 40; i++) {
                assertClose(expected[30 + i], r.logits()[i], 1e-4, "position " + (30 + i));
            }
            assertArrayEquals(r.logits()[39], r.lastLogits());
        }
    }

    @Test
    void sparseLastNLogitsWithDenseHeadsMatchDenseAndReportFullDensity() {
        SparsePrefill everyKey = new SparsePrefill("minference",
                PatternPlan.uniform(2, 4, new HeadPattern.Dense()), 0, "every head dense");
        try (LlamaModel model = model();
             LlamaSession session = LlamaSession.open(model, backend, AttentionPlan.sparse(everyKey), 16)) {
            int[] tokens = prompt(130);
            float[][] expected = oneByOne(model, tokens);
            PrefillResult r = session.prefill(tokens, PrefillOptions.lastLogits(50));
            assertEquals("minference", r.attention());
            assertEquals(1.0, r.density(), 1e-12);
            for (int i = 0; i < 50; i++) {
                assertClose(expected[80 + i], r.logits()[i], 1e-4, "position " + (80 + i));
            }
        }
    }

    @Test
    void aSparsePatternReportsTheFractionOfTheCausalAreaItComputed() {
        SparsePrefill narrow = new SparsePrefill("a-shape",
                PatternPlan.uniform(2, 4, new HeadPattern.AShape(64, 64)), 0, "every head a-shape 64+64");
        // 1024 tokens: at fewer, A-shape 64+64 needs more than the dense fallback's share of the causal key tiles
        // (0.66), and the prefill rightly runs those heads dense
        int length = 1024;
        try (LlamaModel model = RandomLlama.charModel(length, SEED);
             LlamaSession session = LlamaSession.open(model, backend, AttentionPlan.sparse(narrow), 16)) {
            int[] tokens = prompt(length);
            PrefillResult r = session.prefill(tokens, PrefillOptions.lastLogits(1));
            assertTrue(r.density() > 0.2 && r.density() < 0.9, "density " + r.density());
            // The same prompt dense computes all of it.
            PrefillResult dense = session.prefill(tokens, PrefillOptions.lastLogits(1)
                    .withAttention(AttentionPlan.dense()));
            assertEquals(1.0, dense.density());
            assertEquals(LlamaSession.DENSE, dense.attention());
        }
    }

    @Test
    void keepingMoreLogitsThanThePromptIsRefused() {
        try (LlamaModel model = model();
             LlamaSession session = LlamaSession.open(model, backend, AttentionPlan.dense(), 16)) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> session.prefill(prompt(5), PrefillOptions.lastLogits(6)));
            assertEquals("logits to keep must be from 1 to the prompt's 5 tokens, got 6", e.getMessage());
        }
    }

    @Test
    void aStopSequenceIsCutFromTheTextAndNeverStreamed() {
        try (LlamaModel model = model();
             LlamaSession session = LlamaSession.open(model, backend, AttentionPlan.dense(), 16)) {
            int[] tokens = prompt(20);
            GenerationResult free = session.generate(tokens, GenerationRequest.of(12), GenerationListener.NONE);
            String text = free.text();
            assertEquals(12, text.length(), text);
            // A stop sequence that spans the 5th to 7th generated tokens.
            String stop = text.substring(4, 7);
            int expectedEnd = text.indexOf(stop);
            List<String> streamed = new ArrayList<>();
            GenerationResult cut = session.generate(tokens, GenerationRequest.of(12).withStop(List.of("\u0001", stop)),
                    new GenerationListener() {
                        @Override
                        public void token(int token, String piece, TokenLogprobs logprobs) {
                            streamed.add(piece);
                            assertNull(logprobs);
                        }

                        @Override
                        public void finish(String piece) {
                            streamed.add(piece);
                        }
                    });
            assertEquals("stop", cut.stopReason());
            assertEquals(text.substring(0, expectedEnd), cut.text());
            assertEquals(cut.text(), String.join("", streamed));
            assertTrue(cut.generated().length < 12);
        }
    }

    @Test
    void logprobsListTheChosenTokenAndTheMostLikelyOnes() {
        try (LlamaModel model = model();
             LlamaSession session = LlamaSession.open(model, backend, AttentionPlan.dense(), 16)) {
            GenerationResult r = session.generate(prompt(10), GenerationRequest.of(4).withLogprobs(5),
                    GenerationListener.NONE);
            assertEquals(4, r.logprobs().size());
            for (TokenLogprobs lp : r.logprobs()) {
                assertEquals(5, lp.topTokens().length);
                // Greedy: the chosen token is the most likely one.
                assertEquals(lp.topTokens()[0], lp.token());
                assertEquals(lp.topLogprobs()[0], lp.logprob());
                for (int k = 1; k < 5; k++) assertTrue(lp.topLogprobs()[k] <= lp.topLogprobs()[k - 1]);
                assertTrue(lp.logprob() <= 0);
            }
            assertArrayEquals(r.generated(), r.logprobs().stream().mapToInt(TokenLogprobs::token).toArray());
        }
    }

    @Test
    void observationSeesEachLayerUpToTheOneAskedForAndStops() {
        try (LlamaModel model = model();
             LlamaSession session = LlamaSession.open(model, backend, AttentionPlan.dense(), 16)) {
            List<Integer> seen = new ArrayList<>();
            session.observe(prompt(40), 1, (layer, shape, queries, keys, values, length) -> {
                seen.add(layer);
                assertEquals(40, length);
                assertEquals(shape.queryDim(), queries.dim(1));
            }, ProgressListener.NONE);
            assertEquals(List.of(0), seen);
            seen.clear();
            session.observe(prompt(40), 2, (layer, shape, queries, keys, values, length) -> seen.add(layer),
                    ProgressListener.NONE);
            assertEquals(List.of(0, 1), seen);
            assertFalse(session.onGpu());
        }
    }
}
