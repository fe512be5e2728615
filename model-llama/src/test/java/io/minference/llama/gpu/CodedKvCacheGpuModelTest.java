package io.minference.llama.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.config.KvCacheType;
import io.minference.llama.KvCacheCodes;
import io.minference.llama.LlamaModel;
import io.minference.llama.forward.CodedKvAccuracy;
import io.minference.llama.generate.PasskeyPrompt;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.synthetic.SyntheticShape;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cuda.CudaAvailability;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaDriver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The GPU forward pass with an 8-bit KV cache, int8 codes ({@code --kv-cache int8}, held to issue 13's bounds) and
 * e4m3 codes ({@code --kv-cache fp8}, held to looser ones), against the same pass with bf16 on the tiny pass-key
 * model after 8K- and 16K-token prompts ({@link CodedKvAccuracy}): each side's prompt is prefilled afresh, then
 * decoded on the device. The bf16 reference runs once per length. It runs the shipped Q8_0 model (the GPU bundle
 * carries no F16 file). With a key scale per head, int8 measured 0.0136 / 0.0218 at 8K / 16K on an H200
 * (2026-12-04), past the 0.02 at 16K, and this test asserted 0.025; int8 keys are now scaled per 16 channels
 * ({@link io.minference.kernels.kvcache.KvScaleGroup}: 0.0065 / 0.0050 on the CPU), and it asserts issue 13's 0.02.
 */
@Tag("gpu")
class CodedKvCacheGpuModelTest {
    @ParameterizedTest(name = "{0} tokens")
    @ValueSource(ints = {8192, 16384 - CodedKvAccuracy.CONTINUATION})
    void codedDecodeMatchesBf16(int length) throws Exception {
        CudaAvailability availability = CudaDriver.availability();
        assumeTrue(availability.available(), () -> "no usable CUDA device: " + availability.reason());
        var files = PasskeyPrompt.files();
        assumeTrue(files.isPresent(), "shared data for the pass-key task is absent");
        Path[] f = files.get();
        try (LlamaModel model = ModelLoader.load(f[0].toString(), f[1], ProgressListener.NONE);
             CudaBackend gpu = CudaBackend.open(0);
             GpuLlamaWeights weights = GpuLlamaWeights.upload(gpu.context(), model)) {
            CodedKvAccuracy.Task task = CodedKvAccuracy.Task.of(model.tokenizer(), f[2], length);
            CodedKvAccuracy.Reference reference;
            try (Side bf16 = new Side(weights, gpu, task, KvCacheType.BF16)) {
                reference = CodedKvAccuracy.reference(task, bf16);
            }
            System.out.println("gpu 8-bit KV on " + gpu.device() + ":");
            // both formats measured and printed (check prints its summary) before a failure is thrown
            List<AssertionError> failures = new ArrayList<>();
            for (KvCacheType type : List.of(KvCacheType.INT8, KvCacheType.FP8)) {
                try (Side coded = new Side(weights, gpu, task, type)) {
                    CodedKvAccuracy.check(task, model.tokenizer(), reference, coded,
                            CodedKvAccuracy.Bounds.of(KvCacheCodes.of(type)));
                } catch (AssertionError e) {
                    failures.add(e);
                }
            }
            if (!failures.isEmpty()) throw failures.getFirst();
        }
    }

    /** One cache format: a fresh forward pass and prefill each time decode restarts from the prompt's end. */
    private static final class Side implements CodedKvAccuracy.Decoder, AutoCloseable {
        private final GpuLlamaWeights weights;
        private final CudaBackend gpu;
        private final CodedKvAccuracy.Task task;
        private final KvCacheType type;
        private GpuLlamaForward forward;

        Side(GpuLlamaWeights weights, CudaBackend gpu, CodedKvAccuracy.Task task, KvCacheType type) {
            this.weights = weights;
            this.gpu = gpu;
            this.task = task;
            this.type = type;
        }

        public float[] atPromptEnd() {
            close();
            int[] prompt = task.prompt().ids();
            forward = new GpuLlamaForward(weights, gpu, prompt.length + CodedKvAccuracy.CONTINUATION,
                    GpuLlamaForward.DEFAULT_CHUNK_SIZE, true, type);
            assertEquals(type, forward.kvCacheType());
            return forward.prefill(prompt, ProgressListener.NONE);
        }

        public float[] decode(int token) {
            return forward.decode(token);
        }

        public void close() {
            if (forward != null) forward.close();
            forward = null;
        }
    }

    @ParameterizedTest
    @EnumSource(value = KvCacheType.class, names = {"INT8", "FP8"})
    void codedCachesRefuseASecondPrompt(KvCacheType type) {
        CudaAvailability availability = CudaDriver.availability();
        assumeTrue(availability.available(), () -> "no usable CUDA device: " + availability.reason());
        try (CudaBackend gpu = CudaBackend.open(0);
             GpuLlamaWeights weights = SyntheticGpuWeights.generate(gpu, SyntheticShape.parse("tiny"))) {
            try (GpuLlamaForward forward = new GpuLlamaForward(weights, gpu, 300, 64, true, type)) {
                forward.prefill(new int[] {1, 2, 3, 4, 5}, ProgressListener.NONE);
                var e = assertThrows(IllegalStateException.class,
                        () -> forward.prefill(new int[] {6, 7}, ProgressListener.NONE));
                assertTrue(e.getMessage().contains("8-bit (" + type.label() + ") KV cache"), e.getMessage());
                forward.decode(6);
            }
        }
    }
}
