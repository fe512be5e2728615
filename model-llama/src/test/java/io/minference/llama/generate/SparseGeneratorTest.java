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
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.LlamaSession;
import io.minference.llama.session.PrefillOptions;
import io.minference.llama.session.PrefillResult;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.config.PatternFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
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

    /**
     * A long prompt takes the sparse path at a low density, and the result is checked against an exact reference:
     * with every head on its own 64-token block (A-shape, no sink, a one-token window rounded out to the block), each
     * row sees its block alone, and as RoPE makes scores depend on i - j only, the last position's logits are those
     * of the last block's 64 tokens prefilled densely as a prompt of their own.
     */
    @Test
    void atTheThresholdTheSparsePathRunsAndABlockDiagonalPlanMatchesTheLastBlockAlone() {
        int length = 1024;
        LlamaConfig config = RandomLlama.smallConfig(length + 8);
        SparsePrefill ownBlock = new SparsePrefill("a-shape", PatternPlan.uniform(2, 4, new HeadPattern.AShape(0, 1)),
                length, "every head a-shape 0+1");
        try (LlamaModel model = new LlamaModel("test:random", config, RandomLlama.weights(config, 5, false, false),
                     null);
             Generator sparse = new Generator(model, backend, 64, ownBlock);
             LlamaSession session = LlamaSession.open(model, backend, AttentionPlan.dense(), 64)) {
            int[] ids = prompt(length);
            GenerationResult s = sparse.generate(ids, 1, SamplingOptions.GREEDY, null, null);
            assertEquals("a-shape", s.attention());
            assertTrue(s.sparse());
            System.out.println("sparse generation, 1024 tokens, every head on its own 64-token block: density "
                    + s.density());
            assertEquals(16 * (64 * 65 / 2.0) / (1024 * 1025 / 2.0), s.density(), 1e-12);
            assertTrue(s.density() <= 0.5);

            PrefillResult sparsePrefill = session.prefill(ids, PrefillOptions.lastLogits(1)
                    .withAttention(AttentionPlan.sparse(ownBlock)));
            float[] expected = session.prefill(Arrays.copyOfRange(ids, length - 64, length),
                    PrefillOptions.lastLogits(1)).lastLogits();
            float[] actual = sparsePrefill.lastLogits();
            double scale = 0;
            for (float v : expected) scale = Math.max(scale, Math.abs(v));
            int best = 0;
            for (int v = 0; v < expected.length; v++) {
                assertEquals(expected[v], actual[v], 1e-4 * scale + 1e-6, "logit " + v);
                if (expected[v] > expected[best]) best = v;
            }
            assertEquals(best, s.generated()[0], "the first token comes from the sparse prefill's logits");
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
