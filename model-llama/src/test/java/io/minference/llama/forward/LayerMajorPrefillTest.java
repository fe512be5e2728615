package io.minference.llama.forward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.kernels.attention.CpuCausalAttention;
import io.minference.kernels.attention.PromptAttention;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.LlamaWeights;
import io.minference.llama.load.ModelLoader;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.SharedData;
import io.minference.runtime.cpu.CpuBackend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The layer-major whole-prompt prefill with dense attention against the ordinary block-by-block prefill: the same
 * last-position logits (1e-4 relative, norm-wise), and a KV cache that later decode steps continue from.
 */
class LayerMajorPrefillTest {
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
    void randomModelMatchesTheBlockPrefillAndDecodesOnFromIt() {
        LlamaConfig config = RandomLlama.smallConfig(64);
        try (LlamaWeights weights = RandomLlama.weights(config, 21, false, true)) {
            int[] prompt = randomTokens(config.vocabSize(), 45, 21);
            float[] expected, expectedNext;
            try (LlamaForward forward = new LlamaForward(config, weights, backend, 50, 8)) {
                expected = forward.prefill(prompt, ProgressListener.NONE);
                expectedNext = forward.decode(3);
            }
            try (LlamaForward forward = new LlamaForward(config, weights, backend, 50, 8)) {
                float[] actual = forward.prefill(prompt, ProgressListener.NONE, dense(5));
                assertEquals(prompt.length, forward.position());
                assertClose(expected, actual, 1e-4, "last prompt logits");
                assertClose(expectedNext, forward.decode(3), 1e-4, "logits of the decode step after it");
            }
        }
    }

    @Test
    void stories260kMatchesTheBlockPrefill() {
        try (LlamaModel model = load("models/stories260K.bin", "models/tok512.bin")) {
            int[] prompt = randomTokens(model.config().vocabSize(), 300, 260);
            compare(model, prompt, 128);
            compare(model, prompt, 7);
        }
    }

    @Test
    void tinyPasskeyMatchesTheBlockPrefill() {
        try (LlamaModel model = load("models/tiny-passkey-llama-f16.gguf",
                "models/tiny-passkey-llama-tokenizer.json")) {
            int[] prompt = randomTokens(model.config().vocabSize(), 333, 17);
            compare(model, prompt, 128);
        }
    }

    @Test
    void reportsProgressPerLayerUpToThePromptLength() {
        LlamaConfig config = RandomLlama.smallConfig(64);
        try (LlamaWeights weights = RandomLlama.weights(config, 22, true, false);
             LlamaForward forward = new LlamaForward(config, weights, backend, 64, 8)) {
            List<Long> done = new ArrayList<>();
            forward.prefill(randomTokens(config.vocabSize(), 20, 1), (stage, d, total) -> {
                assertEquals("prefill", stage);
                assertEquals(20, total);
                done.add(d);
            }, dense(16));
            assertEquals(config.numLayers() + 1, done.size());
            assertEquals(0L, done.getFirst());
            assertEquals(20L, done.getLast());
            for (int i = 1; i < done.size(); i++) assertTrue(done.get(i) >= done.get(i - 1), done.toString());
        }
    }

    @Test
    void refusesToStartAnywhereButPositionZeroAndPromptsBeyondCapacity() {
        LlamaConfig config = RandomLlama.smallConfig(64);
        try (LlamaWeights weights = RandomLlama.weights(config, 23, false, false);
             LlamaForward forward = new LlamaForward(config, weights, backend, 10, 4)) {
            var full = assertThrows(IllegalStateException.class,
                    () -> forward.prefill(new int[11], ProgressListener.NONE, dense(4)));
            assertTrue(full.getMessage().contains("holds 10 positions"), full.getMessage());
            forward.prefill(new int[] {1, 2}, ProgressListener.NONE);
            var later = assertThrows(IllegalStateException.class,
                    () -> forward.prefill(new int[] {3}, ProgressListener.NONE, dense(4)));
            assertTrue(later.getMessage().contains("position 0") && later.getMessage().contains("position 2"),
                    later.getMessage());
        }
    }

    private static void compare(LlamaModel model, int[] prompt, int blockSize) {
        LlamaConfig config = model.config();
        LlamaWeights weights = model.weights();
        float[] expected;
        try (LlamaForward forward = new LlamaForward(config, weights, backend, prompt.length, blockSize)) {
            expected = forward.prefill(prompt, ProgressListener.NONE);
        }
        try (LlamaForward forward = new LlamaForward(config, weights, backend, prompt.length, blockSize)) {
            float[] actual = forward.prefill(prompt, ProgressListener.NONE, dense(128));
            assertClose(expected, actual, 1e-4, model.source() + ", " + prompt.length + " tokens, block " + blockSize);
        }
    }

    private static PromptAttention dense(int blockSize) {
        return PromptAttention.dense(new CpuCausalAttention(backend), blockSize);
    }

    private static int[] randomTokens(int vocab, int count, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] tokens = new int[count];
        for (int i = 0; i < count; i++) tokens[i] = random.nextInt(vocab);
        return tokens;
    }

    private static LlamaModel load(String modelFile, String tokenizerFile) {
        Optional<Path> modelPath = SharedData.file(modelFile);
        Optional<Path> tokenizerPath = SharedData.file(tokenizerFile);
        assumeTrue(modelPath.isPresent() && tokenizerPath.isPresent(), "shared data " + modelFile + " is absent");
        return ModelLoader.load(modelPath.get().toString(), tokenizerPath.get(), ProgressListener.NONE);
    }

    /** Norm-wise relative error at most {@code tolerance}. */
    private static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        assertEquals(expected.length, actual.length, what);
        double difference = 0, norm = 0;
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Float.isFinite(actual[i]), what + ": element " + i + " is " + actual[i]);
            difference += Math.pow(actual[i] - (double) expected[i], 2);
            norm += Math.pow(expected[i], 2);
        }
        double error = Math.sqrt(difference / norm);
        System.out.printf("%s: relative error %.2e%n", what, error);
        assertTrue(error <= tolerance, what + ": relative error " + error);
    }
}
