package io.minference.llama.generate;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.llama.LlamaModel;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.LlamaSession;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The needle evaluation can fail: scored inside the prefill, on the tiny pass-key model with Moby-Dick as haystack,
 * a pattern known to be blind scores worse than dense, and a sparse one that keeps the needle's columns keeps the
 * key at a density well below dense. Each row prints its score and the density it ran at.
 */
class NeedleSensitivityCpuTest {
    private static final int TRIALS = 4;
    private static LlamaModel model;
    private static String haystack;
    private static CpuBackend cpu;

    @BeforeAll
    static void load() throws Exception {
        var files = PasskeyPrompt.files();
        assumeTrue(files.isPresent(), "shared data for the pass-key task is absent");
        Path[] f = files.get();
        model = ModelLoader.load(f[0].toString(), f[1], ProgressListener.NONE);
        haystack = PasskeyPrompt.readHaystack(f[2]);
        cpu = new CpuBackend();
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
        if (cpu != null) cpu.close();
    }

    static AttentionPlan uniform(String mode, LlamaModel model, HeadPattern pattern) {
        return AttentionPlan.sparse(new SparsePrefill(mode, PatternPlan.uniform(model.config().numLayers(),
                model.config().numHeads(), pattern), 0, "every head " + SparsePrefill.describe(pattern)));
    }

    /** Scores {@link #TRIALS} trials at one length and depth: how many kept the key, and the mean density. */
    static NeedleRow row(LlamaSession session, String haystack, AttentionPlan plan, int length, double depth) {
        int retrieved = 0;
        double density = 0, logLikelihood = 0;
        for (int t = 0; t < TRIALS; t++) {
            PasskeyPrompt prompt = PasskeyPrompt.build(session.tokenizer(), haystack, length, depth, 1 + t);
            PasskeyPrompt.PrefillScore score = prompt.scoreInPrefill(session, plan);
            if (score.retrieved()) retrieved++;
            density += score.density() / TRIALS;
            logLikelihood += score.keyLogLikelihood() / TRIALS;
        }
        NeedleRow row = new NeedleRow(plan.toString(), length, depth, retrieved, density, logLikelihood);
        System.out.println(row);
        return row;
    }

    record NeedleRow(String attention, int length, double depth, int retrieved, double density,
                     double keyLogLikelihood) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "needle, prefill-scored: %d tokens, depth %.0f%%, %s: %d/%d"
                    + " at density %.3f, key log-likelihood %.3f", length, depth * 100, attention, retrieved, TRIALS,
                    density, keyLogLikelihood);
        }
    }

    @Test
    void at4kNarrowAShapeLosesTheKeyThatDenseKeeps() {
        try (LlamaSession session = LlamaSession.open(model, cpu, AttentionPlan.dense(), 128)) {
            NeedleRow dense = row(session, haystack, AttentionPlan.dense(), 4096, 0.1);
            // six layers of 256-token windows: no path from the needle, 3.7K tokens back, to the question
            NeedleRow aShape = row(session, haystack, uniform("a-shape", model, new HeadPattern.AShape(16, 256)),
                    4096, 0.1);
            assertTrue(dense.retrieved() >= 3, dense.toString());
            assertTrue(aShape.retrieved() <= 1, aShape.toString());
            assertTrue(aShape.density() < 0.25, aShape.toString());
            assertTrue(aShape.keyLogLikelihood() < dense.keyLogLikelihood(), aShape + " vs " + dense);
        }
    }

    /**
     * 100 columns and 200 diagonals. (The issue asked for 100/800; with each kept diagonal widened to the key blocks
     * it touches, 800 scattered diagonals reach most blocks at 8K: 4/4 at density 0.71 when measured, 100/400 4/4 at
     * 0.52, 100/200 4/4 at 0.33. With exact 64-key slash ranges 100/800 still keeps 4/4 at density 0.61, or 0.76 with
     * the dense fallback's heads counted dense: this model's 800 strongest diagonals at 8K are most of its keys.)
     */
    @Test
    void at8kVerticalSlashKeepsTheKeyAtHalfTheDensity() {
        try (LlamaSession session = LlamaSession.open(model, cpu, AttentionPlan.dense(), 128)) {
            NeedleRow verticalSlash = row(session, haystack, uniform("vertical-slash", model,
                    new HeadPattern.VerticalSlash(Budget.topK(100), Budget.topK(200))), 8192, 0.1);
            assertTrue(verticalSlash.retrieved() >= 3, verticalSlash.toString());
            assertTrue(verticalSlash.density() <= 0.5, verticalSlash.toString());
        }
    }
}
