package io.minference.llama.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.config.AttentionConfig;
import io.minference.config.AttentionMode;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.forward.LlamaForward;
import io.minference.llama.forward.RandomLlama;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.config.PatternFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SparseGeneratorTest {
    private static final int CONTEXT = 300;
    private static CpuBackend backend;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    private static LlamaModel model() {
        LlamaConfig config = RandomLlama.smallConfig(CONTEXT);
        return new LlamaModel("test:random", config, RandomLlama.weights(config, 5, false, false), null);
    }

    private static int[] prompt(int length) {
        int[] ids = new int[length];
        for (int i = 0; i < length; i++) ids[i] = (i * 31 + 7) % 97;
        return ids;
    }

    private static SparsePrefill verticalSlash(int threshold) {
        return new SparsePrefill("vertical-slash", PatternPlan.uniform(2, 4, HeadPattern.VerticalSlash.DEFAULT),
                threshold, "every head vertical-slash");
    }

    @Test
    void aPlanOfAnotherShapeIsRefusedBeforeAnyWork() {
        try (LlamaModel model = model()) {
            var wrong = new SparsePrefill("minference", PatternPlan.uniform(3, 4, new HeadPattern.Dense()), 0,
                    "p.yaml");
            var e = assertThrows(IllegalArgumentException.class, () -> new Generator(model, backend, 64, wrong));
            assertEquals("p.yaml: the pattern configuration has 3 layers, the model 2", e.getMessage());
            var heads = new SparsePrefill("minference", PatternPlan.uniform(2, 8, new HeadPattern.Dense()), 0,
                    "q.json");
            e = assertThrows(IllegalArgumentException.class, () -> new Generator(model, backend, 64, heads));
            assertEquals("q.json: layer 0 of the pattern configuration has 8 heads, the model 4", e.getMessage());
        }
    }

    @Test
    void promptsBelowTheThresholdStayDense() {
        try (LlamaModel model = model();
             Generator dense = new Generator(model, backend);
             Generator sparse = new Generator(model, backend, 64, verticalSlash(41))) {
            GenerationResult d = dense.generate(prompt(40), 5, SamplingOptions.GREEDY, null, null);
            GenerationResult s = sparse.generate(prompt(40), 5, SamplingOptions.GREEDY, null, null);
            assertEquals("dense", s.attention());
            assertTrue(!s.sparse());
            assertArrayEquals(d.generated(), s.generated());
        }
    }

    @Test
    void promptsAtTheThresholdTakeTheSparsePathAndABudgetCoveringAllMatchesDense() {
        try (LlamaModel model = model();
             Generator dense = new Generator(model, backend);
             Generator sparse = new Generator(model, backend, 64, verticalSlash(200))) {
            GenerationResult d = dense.generate(prompt(200), 8, SamplingOptions.GREEDY, null, null);
            GenerationResult s = sparse.generate(prompt(200), 8, SamplingOptions.GREEDY, null, null);
            assertEquals("vertical-slash", s.attention());
            assertTrue(s.sparse());
            assertArrayEquals(d.generated(), s.generated(), "1000/6096 covers every key of 200 tokens");
        }
    }

    @Test
    void scoringSumsTheNegativeLogLikelihoodOfEachContinuationToken() {
        int[] context = prompt(50);
        int[] continuation = {3, 14, 15, 92};
        try (LlamaModel model = model(); Generator generator = new Generator(model, backend)) {
            ScoreResult r = generator.score(context, continuation, ProgressListener.NONE);
            double expected = 0;
            try (LlamaForward forward = new LlamaForward(model.config(), model.weights(), backend, 60)) {
                float[] logits = forward.prefill(context, ProgressListener.NONE);
                for (int token : continuation) {
                    expected -= referenceLogSoftmax(logits, token);
                    logits = forward.decode(token);
                }
            }
            // Float logits through two forward passes (the Vector API's exp may differ in the last bit between
            // interpreted and compiled code): agreement to 1e-6, not to the bit.
            assertEquals(expected, r.negativeLogLikelihood(), 1e-6 * Math.abs(expected));
            assertEquals(4, r.scoredTokens());
            assertEquals(Math.exp(expected / 4), r.perplexity(), 1e-6 * r.perplexity());
            assertEquals("dense", r.attention());
            var e = assertThrows(IllegalArgumentException.class,
                    () -> generator.score(prompt(CONTEXT), new int[] {1, 2}, null));
            assertEquals("context of 300 tokens plus 2 scored tokens does not fit the model's context of 300 tokens",
                    e.getMessage());
        }
    }

    @Test
    void logSoftmaxByHand() {
        assertEquals(Math.log(0.75), Generator.logSoftmax(new float[] {0f, (float) Math.log(3)}, 1), 1e-7);
        assertEquals(Math.log(0.25), Generator.logSoftmax(new float[] {1000f, 1000f + (float) Math.log(3)}, 0), 1e-4);
    }

    private static double referenceLogSoftmax(float[] logits, int token) {
        double sum = 0;
        for (float v : logits) sum += Math.exp(v);
        return Math.log(Math.exp(logits[token]) / sum);
    }

    @Test
    void theConfigurationChoosesThePlan() throws IOException {
        LlamaConfig c = RandomLlama.smallConfig(CONTEXT);
        assertNull(SparsePrefill.of(AttentionConfig.DEFAULTS, c, Set.of()));
        SparsePrefill minference = SparsePrefill.of(new AttentionConfig(AttentionMode.MINFERENCE, null, 8192, null),
                c, Set.of());
        assertEquals(PatternPlan.uniform(2, 4, HeadPattern.VerticalSlash.DEFAULT), minference.plan());
        assertEquals("minference", minference.mode());
        assertEquals("every head vertical-slash 1000/6096", minference.source());
        assertEquals(8192, minference.threshold());
        assertEquals(new HeadPattern.VerticalSlash(Budget.mass(0.9), Budget.mass(0.9)),
                SparsePrefill.of(new AttentionConfig(AttentionMode.VERTICAL_SLASH, null, 0, 0.9), c, Set.of())
                        .plan().pattern(1, 3));
        assertEquals(SparsePrefill.DEFAULT_A_SHAPE,
                SparsePrefill.of(new AttentionConfig(AttentionMode.A_SHAPE, null, 0, null), c, Set.of())
                        .plan().pattern(0, 0));
        assertEquals(new HeadPattern.BlockSparse(Budget.mass(0.5)),
                SparsePrefill.of(new AttentionConfig(AttentionMode.BLOCK_SPARSE, null, 0, 0.5), c, Set.of())
                        .plan().pattern(0, 0));
        assertEquals(SparsePrefill.DEFAULT_BLOCK_SPARSE,
                SparsePrefill.of(new AttentionConfig(AttentionMode.BLOCK_SPARSE, null, 0, null), c, Set.of())
                        .plan().pattern(0, 0));

        Path file = dir.resolve("p.yaml");
        Files.writeString(file, "num_layers: 2\nnum_heads: 4\ndefault: {pattern: dense}\nlayers:\n  1:\n"
                + "    2: {pattern: a-shape, sink: 4, local: 16}\n");
        SparsePrefill fromFile = SparsePrefill.of(new AttentionConfig(AttentionMode.MINFERENCE, file, 0, null), c,
                Set.of());
        assertEquals(new HeadPattern.AShape(4, 16), fromFile.plan().pattern(1, 2));
        assertEquals(file.toString(), fromFile.source());
        Files.writeString(file, "num_layers: 32\nnum_heads: 4\ndefault: {pattern: dense}\n");
        var e = assertThrows(PatternFileException.class,
                () -> SparsePrefill.of(new AttentionConfig(AttentionMode.MINFERENCE, file, 0, null), c, Set.of()));
        assertEquals(file + ": the pattern configuration has 32 layers, the model 2", e.getMessage());
    }
}
