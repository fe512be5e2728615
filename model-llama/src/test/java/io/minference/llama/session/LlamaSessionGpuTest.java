package io.minference.llama.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.config.KvCacheType;
import io.minference.llama.LlamaModel;
import io.minference.llama.generate.PasskeyPrompt;
import io.minference.llama.generate.GenerationResult;
import io.minference.llama.generate.SparsePrefill;
import io.minference.llama.gpu.GpuLlamaForward;
import io.minference.llama.gpu.GpuLlamaWeights;
import io.minference.llama.gpu.LinearKernel;
import io.minference.llama.load.ModelLoader;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.SharedData;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.GpuTests;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The session on a GPU against the session on the CPU, on the tiny pass-key model: the logits of the last N
 * positions (dense in chunks, and layer-major through a sparse plan of dense heads) within a norm-wise relative
 * error of 2e-2 per row (bf16 against f32), the A-shape density counted on the device equal to the CPU's, and
 * greedy generation with log-probabilities token for token.
 */
@Tag("gpu")
class LlamaSessionGpuTest {
    private static final double BOUND = 2e-2;
    private static CudaBackend gpu;
    private static CpuBackend cpu;

    @BeforeAll
    static void open() {
        gpu = GpuTests.openOrSkip();
        cpu = CpuBackend.reference();
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
        if (cpu != null) cpu.close();
    }

    private static LlamaModel load() {
        // the F16 model from the shared data, or its Q8_0 twin that ships in the repository (the GPU bundle's)
        Optional<Path> model = PasskeyPrompt.modelFile();
        Optional<Path> tokenizer = SharedData.file(PasskeyPrompt.TOKENIZER);
        assumeTrue(model.isPresent() && tokenizer.isPresent(), "shared data: the tiny pass-key model is absent");
        return ModelLoader.load(model.get().toString(), tokenizer.get(), ProgressListener.NONE);
    }

    /** About {@code length} tokens of text, BOS first. */
    private static int[] prompt(LlamaModel model, int length) {
        String sentence = "Call me Ishmael. Some years ago, never mind how long precisely, I thought I would sail. ";
        int[] words = model.tokenizer().encode(sentence.repeat(1 + length / 10));
        int[] out = new int[length];
        out[0] = model.tokenizer().bos();
        System.arraycopy(words, 0, out, 1, length - 1);
        return out;
    }

    @Test
    void lastNLogitsMatchTheCpu() {
        try (LlamaModel model = load();
             LlamaSession onCpu = LlamaSession.open(model, cpu, AttentionPlan.dense(), 128);
             LlamaSession onGpu = LlamaSession.open(model, gpu, AttentionPlan.dense(), 128)) {
            int[] tokens = prompt(model, 600);
            // 300 rows: more than one vocabulary-projection step (256) on the device.
            PrefillResult expected = onCpu.prefill(tokens, PrefillOptions.lastLogits(300));
            compareRows(expected, onGpu.prefill(tokens, PrefillOptions.lastLogits(300)), "dense");
            // Layer-major, through a sparse plan whose heads keep every key.
            AttentionPlan everyKey = AttentionPlan.sparse(new SparsePrefill("minference",
                    PatternPlan.uniform(model.config().numLayers(), model.config().numHeads(), new HeadPattern.Dense()),
                    0, "every head dense"));
            PrefillResult layerMajor = onGpu.prefill(tokens, PrefillOptions.lastLogits(300).withAttention(everyKey)
                    .measuringDensity());
            compareRows(expected, layerMajor, "layer-major");
            assertEquals(1.0, layerMajor.density(), 1e-12);
        }
    }

    @Test
    void lastNLogitsAcrossSmallChunksMatchTheCpu() {
        try (LlamaModel model = load();
             LlamaSession onCpu = LlamaSession.open(model, cpu, AttentionPlan.dense(), 128);
             GpuLlamaWeights weights = GpuLlamaWeights.upload(gpu.context(), model);
             GpuLlamaForward forward = new GpuLlamaForward(weights, gpu, 100, 16)) {
            int[] tokens = prompt(model, 100);
            PrefillResult expected = onCpu.prefill(tokens, PrefillOptions.lastLogits(40));
            float[][] actual = forward.prefill(tokens, ProgressListener.NONE, 40);
            for (int i = 0; i < 40; i++) assertRowClose(expected.logits()[i], actual[i], "chunk 16, row " + i);
            // The device-side choice reads the last position's logits.
            assertEquals(argmax(actual[39]), forward.argmaxOfLogits());
        }
    }

    @Test
    void theDeviceCountsTheSameAShapeDensityAsTheCpu() {
        try (LlamaModel model = load()) {
            AttentionPlan aShape = AttentionPlan.sparse(new SparsePrefill("a-shape", PatternPlan.uniform(
                    model.config().numLayers(), model.config().numHeads(), new HeadPattern.AShape(64, 256)), 0,
                    "every head a-shape 64+256"));
            int[] tokens = prompt(model, 1500);
            try (LlamaSession onCpu = LlamaSession.open(model, cpu, aShape, 128);
                 LlamaSession onGpu = LlamaSession.open(model, gpu, aShape, 128)) {
                PrefillResult expected = onCpu.prefill(tokens, PrefillOptions.lastLogits(1));
                PrefillResult measured = onGpu.prefill(tokens, PrefillOptions.lastLogits(1).measuringDensity());
                PrefillResult timed = onGpu.prefill(tokens, PrefillOptions.lastLogits(1));
                System.out.printf("a-shape 64+256 at %d tokens: density cpu %.4f, gpu %.4f%n", tokens.length,
                        expected.density(), measured.density());
                assertTrue(expected.density() < 0.5, "density " + expected.density());
                assertEquals(expected.density(), measured.density(), 1e-12);
                assertTrue(Double.isNaN(timed.density()), "a timed device prefill does not measure");
                assertRowClose(expected.lastLogits(), measured.lastLogits(), "a-shape last logits");
            }
        }
    }

    @Test
    void greedyGenerationWithLogprobsMatchesTheCpu() {
        try (LlamaModel model = load();
             LlamaSession onCpu = LlamaSession.open(model, cpu, AttentionPlan.dense(), 128);
             LlamaSession onGpu = LlamaSession.open(model, gpu, AttentionPlan.dense(), 128)) {
            int[] tokens = prompt(model, 40);
            GenerationRequest request = GenerationRequest.of(12).withLogprobs(3).withStop(List.of("zzz"));
            GenerationResult expected = onCpu.generate(tokens, request, GenerationListener.NONE);
            GenerationResult actual = onGpu.generate(tokens, request, GenerationListener.NONE);
            assertArrayEquals(expected.generated(), actual.generated());
            assertEquals(expected.text(), actual.text());
            for (int i = 0; i < expected.logprobs().size(); i++) {
                assertEquals(expected.logprobs().get(i).logprob(), actual.logprobs().get(i).logprob(), 5e-2);
            }
        }
    }

    /**
     * A profiled prefill gives its phases' device time (linear layers and attention for the chunked dense prefill;
     * also the KV store of an 8-bit (int8) cache and a sparse plan's estimation and index, both layer-major), the time
     * of every kernel outside attention, whose sum over the linear layers' kernels is most of the linear phase, a peak
     * memory at least what was in use before, and energy (NaN joules where NVML is absent); an 8-bit cache's greedy
     * decode (int8 and fp8 codes) matches the CPU's reference of those codes for the first tokens.
     */
    @Test
    void aProfiledPrefillSaysWhereItsDeviceTimeWent() {
        try (LlamaModel model = load();
             LlamaSession onGpu = LlamaSession.open(model, gpu, AttentionPlan.dense(), 128)) {
            int[] tokens = prompt(model, 1500);
            long before = onGpu.deviceBytesInUse();
            AttentionPlan fp8 = AttentionPlan.dense().withKvCache(KvCacheType.INT8);
            AttentionPlan aShape = AttentionPlan.sparse(new SparsePrefill("a-shape", PatternPlan.uniform(
                    model.config().numLayers(), model.config().numHeads(), new HeadPattern.AShape(64, 256)), 0,
                    "every head a-shape 64+256"));
            PrefillResult chunked = onGpu.prefill(tokens, PrefillOptions.lastLogits(1).profiling());
            PrefillResult layerMajor = onGpu.prefill(tokens, PrefillOptions.lastLogits(1).withAttention(fp8)
                    .profiling());
            PrefillResult sparse = onGpu.prefill(tokens, PrefillOptions.lastLogits(1).withAttention(aShape)
                    .profiling());
            for (PrefillResult r : List.of(chunked, layerMajor, sparse)) {
                PrefillProfile p = r.profile();
                System.out.printf("%s%s: %.4f s, phases %s, kernels %s, peak %d bytes, energy %s%n", r.attention(),
                        r == layerMajor ? " (int8 KV)" : "", r.nanos() / 1e9, p.phases(), p.kernels(),
                        p.peakDeviceBytes(), p.energy().describe());
                assertTrue(p.peakDeviceBytes() >= before, "peak " + p.peakDeviceBytes() + " < " + before);
                for (LinearKernel kernel : LinearKernel.values()) {
                    assertTrue(p.kernels().get(kernel) > 0, kernel + " timed: " + p.kernels());
                }
                double layerKernels = p.kernels().entrySet().stream()
                        .filter(e -> e.getKey() != LinearKernel.EMBEDDING && e.getKey() != LinearKernel.LM_HEAD)
                        .mapToDouble(Map.Entry::getValue).sum();
                // the linear phase is the layers' kernels plus the instants between a phase mark and the next
                // kernel's mark: on this tiny model a kernel runs for a few microseconds, the order of the host's
                // gap between two launches, so the gaps may be a third of the phase (an int8 layer-major prefill
                // measured 0.73 on an H200); half still catches a kernel left out of the profile
                assertTrue(layerKernels <= p.phases().linear() * 1.001 && layerKernels >= p.phases().linear() * 0.5,
                        "layer kernels " + layerKernels + " s against the linear phase " + p.phases().linear());
                assertTrue(Double.isNaN(p.energy().joules()) || p.energy().joules() >= 0);
            }
            PrefillProfile.PhaseSeconds chunkedPhases = chunked.profile().phases();
            assertTrue(chunkedPhases.linear() > 0 && chunkedPhases.attention() > 0, chunkedPhases.toString());
            PrefillProfile.PhaseSeconds fp8Phases = layerMajor.profile().phases();
            assertTrue(fp8Phases.linear() > 0 && fp8Phases.attention() > 0 && fp8Phases.kvStore() > 0,
                    fp8Phases.toString());
            PrefillProfile.PhaseSeconds sparsePhases = sparse.profile().phases();
            assertTrue(sparsePhases.index() > 0 && sparsePhases.attention() > 0, sparsePhases.toString());
            assertTrue(layerMajor.nanos() / 1e9 >= fp8Phases.total() * 0.99, "phases within the wall time");
            assertRowClose(chunked.lastLogits(), layerMajor.lastLogits(), "int8 KV prefill logits (bf16 attention)");
        }
        for (KvCacheType type : List.of(KvCacheType.INT8, KvCacheType.FP8)) {
            try (LlamaModel model = load();
                 LlamaSession onCpu = LlamaSession.open(model, cpu, AttentionPlan.dense().withKvCache(type), 128);
                 LlamaSession onGpu = LlamaSession.open(model, gpu, AttentionPlan.dense().withKvCache(type), 128)) {
                int[] tokens = prompt(model, 200);
                GenerationResult expected = onCpu.generate(tokens, GenerationRequest.of(8), GenerationListener.NONE);
                GenerationResult actual = onGpu.generate(tokens, GenerationRequest.of(8), GenerationListener.NONE);
                System.out.println(type.label() + " KV greedy: cpu " + Arrays.toString(expected.generated())
                        + ", gpu " + Arrays.toString(actual.generated()));
                assertEquals(expected.generated()[0], actual.generated()[0], "the first token after a prefill, "
                        + type.label() + " KV");
            }
        }
    }

    private static void compareRows(PrefillResult expected, PrefillResult actual, String what) {
        assertEquals(expected.logits().length, actual.logits().length);
        for (int i = 0; i < expected.logits().length; i++) {
            assertRowClose(expected.logits()[i], actual.logits()[i], what + ", row " + i);
        }
    }

    private static void assertRowClose(float[] expected, float[] actual, String what) {
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = (double) actual[i] - expected[i];
            diff += d * d;
            norm += (double) expected[i] * expected[i];
        }
        double error = Math.sqrt(diff / norm);
        assertTrue(error < BOUND, () -> what + ": relative error " + error);
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
