package io.minference.llama.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.config.AttentionConfig;
import io.minference.config.AttentionMode;
import io.minference.config.KvCacheType;
import io.minference.config.KvOffload;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.DevicePromptAttention;
import io.minference.kernels.flash.FlashAttention;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.generate.PasskeyPrompt;
import io.minference.llama.generate.SparsePrefill;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.LlamaSession;
import io.minference.llama.session.PrefillOptions;
import io.minference.llama.session.Sequence;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.SharedData;
import io.minference.runtime.cuda.CudaAvailability;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaDriver;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Decode with the KV cache offloaded to pinned host memory gives the same logits, bit for bit, as decode with the
 * cache on the device, on the tiny pass-key model: the same kernels read the same bytes, from a device slot instead
 * of the layer's own buffers. The prompt is the shipped Moby-Dick excerpt with a pass key; each side prefills it
 * afresh (dense or minference, layer-major either way with offload) and then decodes the same teacher-forced
 * tokens, more than 64 of them from a position inside a 64-token block, so that 8-bit blocks (int8 and fp8 codes) fill
 * during decode and their codes and scales make the round trip through the host.
 */
@Tag("gpu")
class KvOffloadGpuTest {
    /** Decode steps: two 8-bit blocks fill on the way. */
    private static final int STEPS = 150;

    @ParameterizedTest(name = "{0} KV, {1} prefill, {2} tokens")
    @CsvSource({"bf16, dense, 4000", "int8, dense, 4000", "fp8, dense, 4000", "bf16, minference, 8200",
            "int8, minference, 8200", "fp8, minference, 8200"})
    void offloadedDecodeEqualsDecodeOnTheDevice(String cache, String mode, int length) throws Exception {
        CudaAvailability availability = CudaDriver.availability();
        assumeTrue(availability.available(), () -> "no usable CUDA device: " + availability.reason());
        Path root = SharedData.projectRoot().orElse(null);
        assumeTrue(root != null, "the project root is not found");
        Path model = root.resolve(PasskeyPrompt.SHIPPED_MODEL), haystack = root.resolve(PasskeyPrompt.SHIPPED_HAYSTACK);
        KvCacheType type = KvCacheType.byLabel(cache).orElseThrow();
        try (LlamaModel loaded = ModelLoader.load(model.toString(), null, ProgressListener.NONE);
             CudaBackend gpu = CudaBackend.open(0);
             LlamaSession session = LlamaSession.open(loaded, gpu, AttentionPlan.dense(), 256)) {
            int[] prompt = PasskeyPrompt.build(loaded.tokenizer(), haystack, length, 0.5, 7).ids();
            // Teacher-forced continuation: the excerpt's own text after the prompt's end, the same on both sides.
            String text = PasskeyPrompt.readHaystack(haystack);
            int[] forced = Arrays.copyOf(loaded.tokenizer().encode(text.substring(text.length() / 2)), STEPS);
            float[][] onDevice, offloaded;
            if (mode.equals("dense")) {
                // Layer-major on both sides: a bf16 cache on the device would otherwise prefill in chunks, whose
                // attention sums in another order.
                onDevice = decode(gpu, loaded, type, KvOffload.NONE, prompt, forced);
                offloaded = decode(gpu, loaded, type, KvOffload.HOST, prompt, forced);
            } else {
                AttentionPlan plan = sparse(mode, loaded).withKvCache(type);
                onDevice = decode(session, plan, prompt, forced);
                offloaded = decode(session, plan.withKvOffload(KvOffload.HOST), prompt, forced);
                // Control: bit equality can only hold if the sparse prefill itself repeats bit for bit.
                float[][] again = decode(session, plan, prompt, forced);
                double noise = maxDifference(onDevice, again);
                if (noise > 0) {
                    double difference = maxDifference(onDevice, offloaded);
                    System.out.println("gpu KV offload: the " + mode + " prefill differs from itself run to run by"
                            + " up to " + noise + " in a logit; offload differs by up to " + difference);
                    assertTrue(difference <= 2 * noise, "offload " + difference + " vs run-to-run " + noise);
                    return;
                }
            }
            for (int step = 0; step <= STEPS; step++) {
                assertArrayEquals(onDevice[step], offloaded[step], "logits after decode step " + step + " of "
                        + STEPS + " (" + cache + ", " + mode + ", prompt " + prompt.length + " tokens)");
            }
            System.out.println("gpu KV offload on " + gpu.device() + ": " + cache + " " + mode + ", prompt "
                    + prompt.length + " tokens, " + STEPS + " decode steps: logits equal bit for bit");
        }
    }

    private static AttentionPlan sparse(String mode, LlamaModel model) {
        return AttentionPlan.sparse(SparsePrefill.of(new AttentionConfig(AttentionMode.parse(mode), null, 0, null),
                model.config(), Set.of()));
    }

    /** Through the session (a sparse prefill). Row 0: the prefill's last logits; row i: after forced token i - 1. */
    private static float[][] decode(LlamaSession session, AttentionPlan plan, int[] prompt, int[] forced) {
        float[][] logits = new float[forced.length + 1][];
        try (Sequence sequence = session.newSequence(prompt.length + forced.length, plan)) {
            logits[0] = sequence.prefill(prompt, PrefillOptions.lastLogits(1).withAttention(plan)).lastLogits();
            for (int i = 0; i < forced.length; i++) logits[i + 1] = sequence.decode(forced[i]);
            assertEquals(prompt.length + forced.length, sequence.position());
        }
        return numbers(logits);
    }

    /** Through a forward pass of its own, its prompt prefilled layer-major with dense flash attention. */
    private static float[][] decode(CudaBackend gpu, LlamaModel model, KvCacheType type, KvOffload offload,
                                    int[] prompt, int[] forced) {
        float[][] logits = new float[forced.length + 1][];
        LlamaConfig c = model.config();
        try (GpuLlamaWeights weights = GpuLlamaWeights.upload(gpu.context(), model);
             GpuLlamaForward forward = new GpuLlamaForward(weights, gpu, prompt.length + forced.length,
                     GpuLlamaForward.DEFAULT_CHUNK_SIZE, true, type, offload);
             FlashAttention flash = new FlashAttention(gpu.context(),
                     new AttentionShape(c.numHeads(), c.numKvHeads(), c.headDim()));
             DevicePromptAttention dense = DevicePromptAttention.dense(flash)) {
            assertEquals(offload == KvOffload.HOST, forward.offloadsKvCache());
            assertEquals(offload == KvOffload.NONE, forward.usesDecodeGraph(), "offload decodes eagerly");
            logits[0] = forward.prefill(prompt, ProgressListener.NONE, dense);
            for (int i = 0; i < forced.length; i++) logits[i + 1] = forward.decode(forced[i]);
        }
        return numbers(logits);
    }

    private static double maxDifference(float[][] a, float[][] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[i].length; j++) max = Math.max(max, Math.abs(a[i][j] - b[i][j]));
        }
        return max;
    }

    private static float[][] numbers(float[][] logits) {
        for (float[] row : logits) assertFalse(Float.isNaN(row[0]), "logits are numbers");
        return logits;
    }
}
