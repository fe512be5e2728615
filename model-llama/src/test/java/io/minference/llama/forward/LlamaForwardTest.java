package io.minference.llama.forward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class LlamaForwardTest {
    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    @Test
    void blockPrefillMatchesTokenByTokenAndFloat64Reference() {
        LlamaConfig config = RandomLlama.smallConfig(64);
        long seed = System.nanoTime();
        for (boolean shared : new boolean[] {false, true}) {
            try (LlamaWeights weights = RandomLlama.weights(config, seed, shared, !shared)) {
                int[] tokens = randomTokens(new SplittableRandom(seed), 23, config.vocabSize());
                double[][] reference = ReferenceForward.logits(config, weights, tokens);

                float[] stepwiseLast = null;
                try (LlamaForward forward = new LlamaForward(config, weights, backend, 30, 1)) {
                    for (int t = 0; t < tokens.length; t++) {
                        float[] logits = forward.decode(tokens[t]);
                        assertClose(reference[t], logits, 1e-4, "decode position " + t + " seed " + seed);
                        stepwiseLast = logits;
                    }
                }
                for (int blockSize : new int[] {5, 8, 23, 128}) {
                    try (LlamaForward forward = new LlamaForward(config, weights, backend, 30, blockSize)) {
                        float[] logits = forward.prefill(tokens, ProgressListener.NONE);
                        assertEquals(tokens.length, forward.position());
                        assertClose(stepwiseLast, logits, 1e-4, "block " + blockSize + " vs stepwise, seed " + seed);
                        assertClose(reference[tokens.length - 1], logits, 1e-4, "block " + blockSize + " vs reference");
                    }
                }
            }
        }
    }

    @Test
    void prefillInTwoCallsThenDecodeContinuesTheSequence() {
        LlamaConfig config = RandomLlama.smallConfig(64);
        try (LlamaWeights weights = RandomLlama.weights(config, 5, false, false)) {
            int[] tokens = randomTokens(new SplittableRandom(6), 20, config.vocabSize());
            double[][] reference = ReferenceForward.logits(config, weights, tokens);
            try (LlamaForward forward = new LlamaForward(config, weights, backend, 20, 4)) {
                assertClose(reference[10], forward.prefill(Arrays.copyOf(tokens, 11), ProgressListener.NONE), 1e-4,
                        "first part");
                assertClose(reference[17], forward.prefill(Arrays.copyOfRange(tokens, 11, 18), ProgressListener.NONE),
                        1e-4, "second part");
                assertClose(reference[18], forward.decode(tokens[18]), 1e-4, "decode after prefill");
                forward.rewind(18);
                assertClose(reference[18], forward.decode(tokens[18]), 1e-4, "decode after rewind");
            }
        }
    }

    @Test
    void prefillReportsProgressPerBlock() {
        LlamaConfig config = RandomLlama.smallConfig(64);
        try (LlamaWeights weights = RandomLlama.weights(config, 7, true, false);
             LlamaForward forward = new LlamaForward(config, weights, backend, 64, 8)) {
            List<String> events = new ArrayList<>();
            forward.prefill(new int[20], (stage, done, total) -> events.add(stage + " " + done + "/" + total));
            assertEquals(List.of("prefill 0/20", "prefill 8/20", "prefill 16/20", "prefill 20/20"), events);
        }
    }

    @Test
    void refusesTokensBeyondTheCapacityAndBadWeights() {
        LlamaConfig config = RandomLlama.smallConfig(64);
        try (LlamaWeights weights = RandomLlama.weights(config, 8, false, false);
             LlamaForward forward = new LlamaForward(config, weights, backend, 6, 4)) {
            forward.prefill(new int[5], ProgressListener.NONE);
            forward.decode(1);
            var e = assertThrows(IllegalStateException.class, () -> forward.decode(1));
            assertTrue(e.getMessage().contains("holds 6 positions"), e.getMessage());
            forward.rewind(0);
            var bad = assertThrows(IllegalArgumentException.class, () -> forward.prefill(new int[] {3, 97}, ProgressListener.NONE));
            assertTrue(bad.getMessage().contains("token id 97"), bad.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new LlamaForward(config, null, backend, 65));
        LlamaConfig wider = new LlamaConfig(64, 128, 2, 4, 2, 97, 64, 10000f, 1e-5f);
        try (LlamaWeights weights = RandomLlama.weights(config, 9, false, false)) {
            var e = assertThrows(IllegalArgumentException.class, () -> new LlamaForward(wider, weights, backend, 8));
            assertTrue(e.getMessage().contains("layer 0 gate projection"), e.getMessage());
        }
    }

    static int[] randomTokens(SplittableRandom random, int n, int vocab) {
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) tokens[i] = random.nextInt(vocab);
        return tokens;
    }

    static void assertClose(double[] expected, float[] actual, double tolerance, String what) {
        float[] e = new float[expected.length];
        for (int i = 0; i < e.length; i++) e[i] = (float) expected[i];
        assertClose(e, actual, tolerance, what);
    }

    static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        assertEquals(expected.length, actual.length, what);
        double scale = 1;
        for (float v : expected) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= tolerance * scale)) {
                throw new AssertionError(what + ": logit " + i + " expected " + expected[i] + " but got " + actual[i]);
            }
        }
    }

}
