package io.minference.llama.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.llama.LlamaModel;
import io.minference.llama.forward.LlamaForward;
import io.minference.llama.generate.GenerationResult;
import io.minference.llama.generate.Generator;
import io.minference.llama.generate.PasskeyPrompt;
import io.minference.llama.generate.SamplingOptions;
import io.minference.llama.load.ModelLoader;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.SharedData;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.GpuTests;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The GPU forward pass against the CPU path on the small model files: last-position prefill logits within a
 * norm-wise relative error of 2e-2 (bf16 weights and activations against f32), and greedy generation of 20 tokens
 * token for token.
 */
@Tag("gpu")
class GpuLlamaForwardTest {
    private static final int GENERATED = 20;
    /** Logits closer than this at the CPU's top two are a near tie that bf16 rounding may flip. */
    private static final float NEAR_TIE = 0.1f;
    private static CudaBackend gpu;
    private static CpuBackend cpu;

    @BeforeAll
    static void open() {
        gpu = GpuTests.openOrSkip();
        cpu = new CpuBackend(2);
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
        if (cpu != null) cpu.close();
    }

    @Test
    void stories260kMatchesTheCpuPath() {
        try (LlamaModel model = load("models/stories260K.bin", "models/tok512.bin")) {
            int[] prompt = model.tokenizer().encode("Once upon a time, there was a little girl named Lily. She");
            compare(model, withBos(model, prompt), GpuLlamaForward.DEFAULT_CHUNK_SIZE);
            // a chunk smaller than the prompt: chunked prefill with start > 0 in attention and RoPE
            compare(model, withBos(model, prompt), 5);
        }
    }

    @Test
    void tinyPasskeyMatchesTheCpuPath() {
        try (LlamaModel model = loadPasskeyModel()) {
            int[] prompt = model.tokenizer().encode("Call me Ishmael. Some years ago, never mind how long precisely");
            compare(model, withBos(model, prompt), GpuLlamaForward.DEFAULT_CHUNK_SIZE);
            compare(model, withBos(model, prompt), 7);
        }
    }

    @Test
    void refusesTokensOutsideTheVocabularyAndPromptsBeyondCapacity() {
        try (LlamaModel model = load("models/stories260K.bin", "models/tok512.bin");
             GpuLlamaWeights weights = GpuLlamaWeights.upload(gpu.context(), model);
             GpuLlamaForward forward = new GpuLlamaForward(weights, gpu, 4)) {
            var bad = assertThrows(IllegalArgumentException.class,
                    () -> forward.prefill(new int[] {1, 512}, ProgressListener.NONE));
            assertTrue(bad.getMessage().contains("token 512"), bad.getMessage());
            var full = assertThrows(IllegalStateException.class,
                    () -> forward.prefill(new int[] {1, 2, 3, 4, 5}, ProgressListener.NONE));
            assertTrue(full.getMessage().contains("holds 4 positions"), full.getMessage());
        }
    }

    @Test
    void generatorOnTheCudaBackendGeneratesWhatItDoesOnTheCpu() {
        try (LlamaModel model = loadPasskeyModel();
             Generator onCpu = new Generator(model, cpu);
             Generator onGpu = new Generator(model, gpu)) {
            int[] prompt = withBos(model, model.tokenizer().encode("Call me Ishmael."));
            GenerationResult expected = onCpu.generate(prompt, GENERATED, SamplingOptions.GREEDY, null, null);
            GenerationResult actual = onGpu.generate(prompt, GENERATED, SamplingOptions.GREEDY, null, null);
            assertArrayEquals(expected.generated(), actual.generated());
            assertEquals(expected.stopReason(), actual.stopReason());
        }
    }

    private static void compare(LlamaModel model, int[] prompt, int chunk) {
        int capacity = prompt.length + GENERATED;
        float[] cpuLogits;
        int[] cpuTokens = new int[GENERATED];
        // The first step whose two best CPU logits lie within NEAR_TIE of each other: bf16 weights and activations
        // on the GPU may pick either there, and every later token depends on that pick.
        int decided = GENERATED;
        try (LlamaForward reference = new LlamaForward(model.config(), model.weights(), cpu, capacity)) {
            cpuLogits = reference.prefill(prompt, ProgressListener.NONE);
            float[] logits = cpuLogits;
            for (int i = 0; i < GENERATED; i++) {
                cpuTokens[i] = argmax(logits);
                if (decided == GENERATED && topTwoMargin(logits) < NEAR_TIE) decided = i;
                if (i + 1 < GENERATED) logits = reference.decode(cpuTokens[i]);
            }
        }
        int[] gpuTokens = new int[GENERATED];
        try (GpuLlamaWeights weights = GpuLlamaWeights.upload(gpu.context(), model);
             GpuLlamaForward forward = new GpuLlamaForward(weights, gpu, capacity, chunk)) {
            float[] gpuLogits = forward.prefill(prompt, ProgressListener.NONE);
            assertEquals(prompt.length, forward.position());
            double error = relativeError(gpuLogits, cpuLogits);
            System.out.printf("%s, %d prompt tokens, chunk %d: logits relative error %.3e%n", model.source(),
                    prompt.length, chunk, error);
            assertTrue(error < 2e-2, () -> "prefill logits relative error " + error);
            float[] logits = gpuLogits;
            for (int i = 0; i < GENERATED; i++) {
                gpuTokens[i] = argmax(logits);
                if (i + 1 < GENERATED) logits = forward.decode(gpuTokens[i]);
                assertTrue(Arrays.stream(toDouble(logits)).allMatch(Double::isFinite), "finite logits");
            }
        }
        System.out.println("  cpu greedy " + Arrays.toString(cpuTokens) + "\n  gpu greedy " + Arrays.toString(gpuTokens)
                + (decided < GENERATED ? "\n  near tie at step " + decided + ": tokens compared up to it" : ""));
        // the tokens up to the near tie, the tie's own pick and all after it being free
        for (int i = 0; i < decided; i++) assertEquals(cpuTokens[i], gpuTokens[i], "greedy token " + i);
    }

    private static float topTwoMargin(float[] logits) {
        float best = Float.NEGATIVE_INFINITY, second = Float.NEGATIVE_INFINITY;
        for (float v : logits) {
            if (v > best) {
                second = best;
                best = v;
            } else if (v > second) {
                second = v;
            }
        }
        return best - second;
    }

    private static LlamaModel load(String modelFile, String tokenizerFile) {
        Optional<Path> modelPath = SharedData.file(modelFile);
        Optional<Path> tokenizerPath = SharedData.file(tokenizerFile);
        assumeTrue(modelPath.isPresent() && tokenizerPath.isPresent(), "shared data " + modelFile + " is absent");
        return ModelLoader.load(modelPath.get().toString(), tokenizerPath.get(), ProgressListener.NONE);
    }

    /** The F16 pass-key model, or where only the repository is at hand (the GPU bundle) its shipped Q8_0 twin. */
    private static LlamaModel loadPasskeyModel() {
        Optional<Path> modelPath = PasskeyPrompt.modelFile();
        assumeTrue(modelPath.isPresent(), "the pass-key model is absent");
        return ModelLoader.load(modelPath.get().toString(), null, ProgressListener.NONE);
    }

    private static int[] withBos(LlamaModel model, int[] tokens) {
        if (tokens.length > 0 && tokens[0] == model.tokenizer().bos()) return tokens;
        int[] out = new int[tokens.length + 1];
        out[0] = model.tokenizer().bos();
        System.arraycopy(tokens, 0, out, 1, tokens.length);
        return out;
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    private static double relativeError(float[] actual, float[] expected) {
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = (double) actual[i] - expected[i];
            diff += d * d;
            norm += (double) expected[i] * expected[i];
        }
        return Math.sqrt(diff / norm);
    }
}
