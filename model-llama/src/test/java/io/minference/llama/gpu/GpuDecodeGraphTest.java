package io.minference.llama.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.config.KvCacheType;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.DevicePromptAttention;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.transformer.CpuTopPSample;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.generate.GenerationResult;
import io.minference.llama.generate.Generator;
import io.minference.llama.generate.SamplingOptions;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.synthetic.SyntheticShape;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.SharedData;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.GpuTests;
import java.nio.file.Path;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Decode steps replayed from a CUDA graph against the same steps queued eagerly (the same launches, so the same
 * logits bit for bit, at worst within 1e-5), the device's greedy pick against the host's, and the layer-major
 * whole-prompt prefill with dense flash attention against the chunked prefill.
 */
@Tag("gpu")
class GpuDecodeGraphTest {
    private static final int STEPS = 20;
    /** Head dim 128 (the tensor-core attention), grouped KV heads, two layers. */
    private static final SyntheticShape HEAD_DIM_128 = new SyntheticShape("test-d128",
            new LlamaConfig(512, 1408, 2, 4, 2, 1000, 4096, 500000f, 1e-5f), false, 7);
    private static CudaBackend gpu;

    @BeforeAll
    static void open() {
        gpu = GpuTests.openOrSkip();
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
    }

    @Test
    void graphDecodeOfStories260kGivesTheEagerLogits() {
        try (LlamaModel model = load("models/stories260K.bin", "models/tok512.bin");
             GpuLlamaWeights weights = GpuLlamaWeights.upload(gpu.context(), model)) {
            int[] prompt = randomTokens(model.config().vocabSize(), 37, 1);
            compareDecode(weights, prompt, 400);
        }
    }

    @Test
    void graphDecodeOfAHeadDim128ModelGivesTheEagerLogits() {
        try (GpuLlamaWeights weights = SyntheticGpuWeights.generate(gpu, HEAD_DIM_128)) {
            compareDecode(weights, randomTokens(1000, 700, 2), 3000);
        }
    }

    @Test
    void generatorPicksGreedilyOnTheDeviceWhatTheCpuPicks() {
        try (LlamaModel model = load("models/stories260K.bin", "models/tok512.bin");
             CpuBackend cpu = new CpuBackend(2);
             Generator onCpu = new Generator(model, cpu);
             Generator onGpu = new Generator(model, gpu)) {
            int[] prompt = {model.tokenizer().bos()};
            GenerationResult expected = onCpu.generate(prompt, STEPS, SamplingOptions.GREEDY, null, null);
            GenerationResult actual = onGpu.generate(prompt, STEPS, SamplingOptions.GREEDY, null, null);
            assertArrayEquals(expected.generated(), actual.generated());
            assertEquals(expected.stopReason(), actual.stopReason());
            // random sampling on the device: the same seed gives the same tokens
            SamplingOptions random = new SamplingOptions(0.9f, 0.9f, 42);
            int[] first = onGpu.generate(prompt, STEPS, random, null, null).generated();
            int[] second = onGpu.generate(prompt, STEPS, random, null, null).generated();
            assertArrayEquals(first, second);
            System.out.println("stories260K, T 0.9, top-p 0.9, seed 42 on the GPU: "
                    + model.tokenizer().decode(first) + "\n  on the CPU: "
                    + model.tokenizer().decode(onCpu.generate(prompt, STEPS, random, null, null).generated()));
        }
    }

    @Test
    void samplingOnTheDevicePicksTheTokenOfTheCpuTwin() {
        try (GpuLlamaWeights weights = SyntheticGpuWeights.generate(gpu, HEAD_DIM_128);
             GpuLlamaForward forward = new GpuLlamaForward(weights, gpu, 64, 16)) {
            SplittableRandom random = new SplittableRandom(9);
            int vocab = weights.config().vocabSize();
            float[] logits = forward.prefill(randomTokens(vocab, 20, 5), ProgressListener.NONE);
            int token = 0;
            for (int step = 0; step < 10; step++) {
                for (float temperature : new float[] {0.7f, 1f, 1.3f}) {
                    for (float topP : new float[] {1f, 0.9f, 0.3f}) {
                        double u = random.nextDouble();
                        int expected = CpuTopPSample.sample(logits, 0, vocab, temperature, topP, u);
                        assertEquals(expected, forward.sampleOfLogits(temperature, topP, u),
                                "step " + step + ", T " + temperature + ", top-p " + topP + ", u " + u);
                    }
                }
                token = CpuTopPSample.sample(logits, 0, vocab, 1f, 0.9f, 0.5);
                logits = forward.decode(token);
            }
        }
        // decodeSample (step and draw in one call) against a twin draw from a second, identical sequence's logits
        int[] prompt = randomTokens(1000, 30, 6);
        try (GpuLlamaWeights weights = SyntheticGpuWeights.generate(gpu, HEAD_DIM_128);
             GpuLlamaForward sampling = new GpuLlamaForward(weights, gpu, 64, 16);
             GpuLlamaForward reference = new GpuLlamaForward(weights, gpu, 64, 16)) {
            sampling.prefill(prompt, ProgressListener.NONE);
            reference.prefill(prompt, ProgressListener.NONE);
            int token = 17;
            for (int step = 0; step < 5; step++) {
                double u = (step + 0.37) / 5;
                int expected = CpuTopPSample.sample(reference.decode(token), 0, 1000, 0.9f, 0.95f, u);
                int actual = sampling.decodeSample(token, 0.9f, 0.95f, u);
                assertEquals(expected, actual, "decodeSample, step " + step);
                token = actual;
            }
        }
    }

    @Test
    void aProfiledDecodeStepPicksTheGraphStepsTokenAndTimesEveryKind() {
        for (KvCacheType type : KvCacheType.values()) {
            int[] prompt = randomTokens(1000, 300, 8);
            try (GpuLlamaWeights weights = SyntheticGpuWeights.generate(gpu, HEAD_DIM_128);
                 GpuLlamaForward graph = new GpuLlamaForward(weights, gpu, 400, 64, true, type);
                 GpuLlamaForward profiled = new GpuLlamaForward(weights, gpu, 400, 64, true, type)) {
                graph.prefill(prompt, ProgressListener.NONE);
                profiled.prefill(prompt, ProgressListener.NONE);
                int token = graph.argmaxOfLogits();
                for (int step = 0; step < 3; step++) {
                    int expected = graph.decodeArgmax(token);
                    DecodeBreakdown breakdown = profiled.profileDecodeStep(token);
                    assertEquals(expected, breakdown.next(), type + " step " + step);
                    assertEquals(graph.position(), profiled.position());
                    for (DecodeKind kind : DecodeKind.values()) {
                        assertTrue(breakdown.millis().get(kind) > 0, () -> kind + " took no device time: "
                                + breakdown.millis());
                    }
                    long qkv = weights.layers().stream().mapToLong(w -> w.wqkv().byteSize()).sum();
                    assertEquals(qkv, breakdown.readBytes().get(DecodeKind.QKV_GEMV));
                    assertEquals(GpuKvCache.bytes(weights.config(), profiled.position(), type),
                            breakdown.readBytes().get(DecodeKind.ATTENTION));
                    assertEquals(0L, breakdown.readBytes().get(DecodeKind.SWIGLU));
                    token = expected;
                }
                // the graph of the profiled sequence, captured after the eager steps, goes on from there
                assertEquals(graph.decodeArgmax(token), profiled.decodeArgmax(token));
            }
        }
    }

    @Test
    void layerMajorPrefillOfStories260kMatchesTheChunkedPrefill() {
        try (LlamaModel model = load("models/stories260K.bin", "models/tok512.bin");
             GpuLlamaWeights weights = GpuLlamaWeights.upload(gpu.context(), model)) {
            compareLayerMajor(weights, randomTokens(model.config().vocabSize(), 500, 3), 100);
        }
    }

    @Test
    void layerMajorPrefillOfAHeadDim128ModelMatchesTheChunkedPrefill() {
        try (GpuLlamaWeights weights = SyntheticGpuWeights.generate(gpu, HEAD_DIM_128)) {
            compareLayerMajor(weights, randomTokens(1000, 1000, 4), 256);
        }
    }

    @Test
    void layerMajorPrefillOnlyStartsASequence() {
        try (GpuLlamaWeights weights = SyntheticGpuWeights.generate(gpu, HEAD_DIM_128);
             GpuLlamaForward forward = new GpuLlamaForward(weights, gpu, 64, 16);
             FlashAttention flash = flash(weights.config());
             DevicePromptAttention dense = DevicePromptAttention.dense(flash)) {
            var full = assertThrows(IllegalStateException.class,
                    () -> forward.prefill(new int[65], ProgressListener.NONE, dense));
            assertTrue(full.getMessage().contains("holds 64 positions"), full.getMessage());
            forward.prefill(new int[] {1, 2, 3}, ProgressListener.NONE);
            var later = assertThrows(IllegalStateException.class,
                    () -> forward.prefill(new int[] {4}, ProgressListener.NONE, dense));
            assertTrue(later.getMessage().contains("position 3"), later.getMessage());
        }
    }

    /** Prefills the same prompt twice, then runs STEPS decode steps with graphs off and on from the same tokens. */
    private static void compareDecode(GpuLlamaWeights weights, int[] prompt, int capacity) {
        float[][] eagerLogits = new float[STEPS][];
        int[] tokens = new int[STEPS];
        try (GpuLlamaForward eager = new GpuLlamaForward(weights, gpu, capacity, 64, false)) {
            eager.prefill(prompt, ProgressListener.NONE);
            tokens[0] = eager.argmaxOfLogits();
            for (int i = 0; i < STEPS; i++) {
                eagerLogits[i] = eager.decode(tokens[i]);
                if (i + 1 < STEPS) tokens[i + 1] = argmax(eagerLogits[i]);
            }
        }
        boolean identical = true;
        try (GpuLlamaForward graph = new GpuLlamaForward(weights, gpu, capacity, 64, true)) {
            assertTrue(graph.usesDecodeGraph());
            graph.prefill(prompt, ProgressListener.NONE);
            assertEquals(tokens[0], graph.argmaxOfLogits());
            for (int i = 0; i < STEPS; i++) {
                float[] logits = graph.decode(tokens[i]);
                assertEquals(prompt.length + i + 1, graph.position());
                double error = relativeError(logits, eagerLogits[i]);
                identical &= error == 0;
                int step = i;
                assertTrue(error <= 1e-5, () -> "step " + step + ": graph logits differ by " + error);
                assertEquals(argmax(logits), graph.argmaxOfLogits(), "the device's greedy pick, step " + i);
            }
            // decodeArgmax runs the same step and picks on the device
            int next = graph.decodeArgmax(argmax(eagerLogits[STEPS - 1]));
            assertTrue(next >= 0 && next < weights.config().vocabSize());
        }
        System.out.printf("%s: graph decode of %d steps after %d tokens (capacity %d) %s the eager logits%n",
                weights.config(), STEPS, prompt.length, capacity, identical ? "is bit-identical to" : "is within 1e-5 of");
    }

    private static void compareLayerMajor(GpuLlamaWeights weights, int[] prompt, int chunk) {
        float[] expected, expectedNext;
        int next;
        try (GpuLlamaForward forward = new GpuLlamaForward(weights, gpu, prompt.length + 1, chunk)) {
            expected = forward.prefill(prompt, ProgressListener.NONE);
            next = argmax(expected);
            expectedNext = forward.decode(next);
        }
        try (GpuLlamaForward forward = new GpuLlamaForward(weights, gpu, prompt.length + 1, chunk);
             FlashAttention flash = flash(weights.config());
             DevicePromptAttention dense = DevicePromptAttention.dense(flash)) {
            long[] lastReport = {-1};
            float[] actual = forward.prefill(prompt, (stage, done, total) -> lastReport[0] = done, dense);
            assertEquals(prompt.length, lastReport[0]);
            assertEquals(prompt.length, forward.position());
            double error = relativeError(actual, expected);
            double nextError = relativeError(forward.decode(next), expectedNext);
            System.out.printf("layer-major prefill, %d tokens in chunks of %d: last logits relative error %.2e,"
                    + " next step's %.2e%n", prompt.length, chunk, error, nextError);
            assertTrue(error <= 5e-3, () -> "layer-major logits relative error " + error);
            assertTrue(nextError <= 5e-3, () -> "decode after the layer-major prefill: relative error " + nextError);
        }
    }

    private static FlashAttention flash(LlamaConfig c) {
        return new FlashAttention(gpu.context(), new AttentionShape(c.numHeads(), c.numKvHeads(), c.headDim()));
    }

    private static int[] randomTokens(int vocab, int count, long seed) {
        return new SplittableRandom(seed).ints(count, 0, vocab).toArray();
    }

    private static LlamaModel load(String modelFile, String tokenizerFile) {
        Optional<Path> modelPath = SharedData.file(modelFile);
        Optional<Path> tokenizerPath = SharedData.file(tokenizerFile);
        assumeTrue(modelPath.isPresent() && tokenizerPath.isPresent(), "shared data " + modelFile + " is absent");
        return ModelLoader.load(modelPath.get().toString(), tokenizerPath.get(), ProgressListener.NONE);
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private static double relativeError(float[] actual, float[] expected) {
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Float.isFinite(actual[i]), "element " + i + " is " + actual[i]);
            double d = (double) actual[i] - expected[i];
            diff += d * d;
            norm += (double) expected[i] * expected[i];
        }
        return Math.sqrt(diff / norm);
    }
}
