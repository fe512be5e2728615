package io.minference.llama.forward;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.llama.LlamaModel;
import io.minference.llama.generate.PasskeyPrompt;
import io.minference.llama.load.ModelLoader;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cpu.CpuBackend;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The CPU reference's FP8 KV cache against its f32 cache on the tiny pass-key model after 8K- and 16K-token
 * prompts ({@link Fp8KvAccuracy}). One prefill serves both: the f32 side decodes first, then the forward rewinds to
 * the prompt's end and switches its cache to FP8 (the prompt's attention was full precision either way).
 */
class Fp8KvCacheCpuTest {
    @ParameterizedTest(name = "{0} tokens")
    @ValueSource(ints = {8192, 16384 - Fp8KvAccuracy.CONTINUATION})
    void fp8DecodeMatchesTheF32Cache(int length) throws Exception {
        var files = PasskeyPrompt.files();
        assumeTrue(files.isPresent(), "shared data for the pass-key task is absent");
        Path[] f = files.get();
        try (LlamaModel model = ModelLoader.load(f[0].toString(), f[1], ProgressListener.NONE);
             CpuBackend cpu = new CpuBackend()) {
            Fp8KvAccuracy.Task task = Fp8KvAccuracy.Task.of(model.tokenizer(), f[2], length);
            int[] prompt = task.prompt().ids();
            try (LlamaForward forward = new LlamaForward(model.config(), model.weights(), cpu,
                    prompt.length + Fp8KvAccuracy.CONTINUATION)) {
                long start = System.nanoTime();
                float[] promptLogits = forward.prefill(prompt, ProgressListener.NONE);
                System.out.printf("cpu prefill of %d tokens: %.1f s%n", prompt.length, (System.nanoTime() - start) / 1e9);
                Fp8KvAccuracy.Decoder reference = decoder(forward, prompt.length, promptLogits, false);
                Fp8KvAccuracy.Decoder fp8 = decoder(forward, prompt.length, promptLogits, true);
                System.out.println("cpu FP8 KV, " + Fp8KvAccuracy.check(task, model.tokenizer(), reference, fp8));
                assertTrue(forward.fp8KvCache());
            }
        }
    }

    /**
     * The harness can fail: an FP8 cache whose full blocks come back with their scale 25% too large (the kind of
     * mistake a wrong scale index makes) is refused, on a 2K-token prompt.
     */
    @Test
    void aCacheDequantizedWithAWrongScaleFailsTheChecks() throws Exception {
        var files = PasskeyPrompt.files();
        assumeTrue(files.isPresent(), "shared data for the pass-key task is absent");
        Path[] f = files.get();
        try (LlamaModel model = ModelLoader.load(f[0].toString(), f[1], ProgressListener.NONE);
             CpuBackend cpu = new CpuBackend()) {
            Fp8KvAccuracy.Task task = Fp8KvAccuracy.Task.of(model.tokenizer(), f[2], 2048);
            int[] prompt = task.prompt().ids();
            try (LlamaForward forward = new LlamaForward(model.config(), model.weights(), cpu,
                    prompt.length + Fp8KvAccuracy.CONTINUATION)) {
                float[] promptLogits = forward.prefill(prompt, ProgressListener.NONE);
                Fp8KvAccuracy.Decoder reference = decoder(forward, prompt.length, promptLogits, false);
                Fp8KvAccuracy.Decoder fp8 = decoder(forward, prompt.length, promptLogits, true);
                Fp8KvAccuracy.Decoder wrongScale = new Fp8KvAccuracy.Decoder() {
                    private boolean scaled;

                    public float[] atPromptEnd() {
                        float[] logits = fp8.atPromptEnd();
                        if (scaled) return logits;
                        scaled = true;
                        int quantized = prompt.length / 64 * 64;
                        for (int l = 0; l < model.config().numLayers(); l++) {
                            for (var t : new io.minference.runtime.Tensor[] {forward.kvCache().keys(l),
                                    forward.kvCache().values(l)}) {
                                for (long i = 0; i < (long) quantized * model.config().kvDim(); i++) {
                                    t.setFloat(i, t.getFloat(i) * 1.25f);
                                }
                            }
                        }
                        return logits;
                    }

                    public float[] decode(int token) {
                        return fp8.decode(token);
                    }
                };
                AssertionError e = assertThrows(AssertionError.class,
                        () -> Fp8KvAccuracy.check(task, model.tokenizer(), reference, wrongScale));
                System.out.println("a wrong scale is refused: " + e.getMessage());
            }
        }
    }

    private static Fp8KvAccuracy.Decoder decoder(LlamaForward forward, int promptLength, float[] promptLogits,
                                                 boolean fp8) {
        return new Fp8KvAccuracy.Decoder() {
            public float[] atPromptEnd() {
                forward.rewind(promptLength);
                if (fp8) forward.useFp8KvCache();
                return promptLogits;
            }

            public float[] decode(int token) {
                return forward.decode(token);
            }
        };
    }

    @Test
    void quantizedBlocksHoldTheirDequantizedFp8ValuesAndThePartialBlockStaysExact() {
        var config = RandomLlama.smallConfig(256);
        try (var weights = RandomLlama.weights(config, 5, false, false); CpuBackend cpu = new CpuBackend(1);
             LlamaForward forward = new LlamaForward(config, weights, cpu, 200)) {
            int[] tokens = new int[150];
            for (int i = 0; i < tokens.length; i++) tokens[i] = (i * 7 + 3) % config.vocabSize();
            forward.prefill(tokens, ProgressListener.NONE);
            float before = forward.kvCache().keys(0).getFloat(140L * config.kvDim());
            float quantizedBefore = forward.kvCache().keys(0).getFloat(10L * config.kvDim() + 1);
            float blockMax = 0; // of block 0, KV head 0 (which holds element 1)
            for (int r = 0; r < 64; r++) {
                for (int i = 0; i < config.headDim(); i++) {
                    blockMax = Math.max(blockMax, Math.abs(forward.kvCache().keys(0).getFloat(r * config.kvDim() + i)));
                }
            }
            forward.useFp8KvCache();
            var keys = forward.kvCache().keys(0);
            assertTrue(before == keys.getFloat(140L * config.kvDim()), "position 140 lies in the partial block");
            float after = keys.getFloat(10L * config.kvDim() + 1);
            // half an int8 step of the block's scale, plus the bf16 rounding of the value and of the block's max
            double bound = blockMax * (1 + 0x1p-8) / 127 * 0.5001 + Math.abs(quantizedBefore) * 0x1p-8;
            assertTrue(Math.abs(after - quantizedBefore) <= bound, quantizedBefore + " became " + after);
            assertThrows(IllegalArgumentException.class, () -> forward.rewind(151));
        }
    }
}
