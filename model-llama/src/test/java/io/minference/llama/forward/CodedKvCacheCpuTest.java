package io.minference.llama.forward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.kernels.kvcache.KvCodes;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.generate.PasskeyPrompt;
import io.minference.llama.load.ModelLoader;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The CPU reference's 8-bit KV caches, int8 and fp8 (e4m3) codes, against its f32 cache on the tiny pass-key model
 * after 8K- and 16K-token prompts ({@link CodedKvAccuracy}): int8 is held to issue 13's bounds, e4m3 to its looser
 * ones, and both are printed. One prefill serves all three: the f32 side decodes first; then, for each format, the
 * forward rewinds to the prompt's end, gets the prompt's f32 keys and values back (quantizing changed them in place)
 * and switches its cache to the format's codes (the prompt's attention was full precision either way).
 */
class CodedKvCacheCpuTest {
    @ParameterizedTest(name = "{0} tokens")
    @ValueSource(ints = {8192, 16384 - CodedKvAccuracy.CONTINUATION})
    void codedDecodeMatchesTheF32Cache(int length) throws Exception {
        var files = PasskeyPrompt.files();
        assumeTrue(files.isPresent(), "shared data for the pass-key task is absent");
        Path[] f = files.get();
        try (LlamaModel model = ModelLoader.load(f[0].toString(), f[1], ProgressListener.NONE);
             CpuBackend cpu = CpuBackend.reference()) {
            CodedKvAccuracy.Task task = CodedKvAccuracy.Task.of(model.tokenizer(), f[2], length);
            int[] prompt = task.prompt().ids();
            try (LlamaForward forward = new LlamaForward(model.config(), model.weights(), cpu,
                    prompt.length + CodedKvAccuracy.CONTINUATION)) {
                long start = System.nanoTime();
                float[] promptLogits = forward.prefill(prompt, ProgressListener.NONE);
                System.out.printf("cpu prefill of %d tokens: %.1f s%n", prompt.length, (System.nanoTime() - start) / 1e9);
                PromptRows f32 = PromptRows.of(forward, prompt.length, model.config().numLayers());
                CodedKvAccuracy.Reference reference = CodedKvAccuracy.reference(task,
                        decoder(forward, prompt.length, promptLogits, null));
                // both formats measured and printed (check prints its summary) before a failure is thrown
                List<AssertionError> failures = new ArrayList<>();
                for (KvCodes codes : List.of(KvCodes.INT8, KvCodes.E4M3)) {
                    f32.restore(forward);
                    try {
                        CodedKvAccuracy.check(task, model.tokenizer(), reference,
                                decoder(forward, prompt.length, promptLogits, codes), CodedKvAccuracy.Bounds.of(codes));
                        assertEquals(Optional.of(codes), forward.kvCodes());
                    } catch (AssertionError e) {
                        failures.add(e);
                    }
                }
                if (!failures.isEmpty()) throw failures.getFirst();
            }
        }
    }

    /** The f32 keys and values of a prompt's rows in every layer, to give back after a cache was quantized. */
    private record PromptRows(int rows, List<float[]> keys, List<float[]> values) {
        static PromptRows of(LlamaForward forward, int rows, int layers) {
            List<float[]> keys = new ArrayList<>(), values = new ArrayList<>();
            KvCache cache = forward.kvCache();
            for (int l = 0; l < layers; l++) {
                keys.add(cache.keyRows(l, 0, rows).toFloatArray());
                values.add(cache.valueRows(l, 0, rows).toFloatArray());
            }
            return new PromptRows(rows, keys, values);
        }

        /** The rows back in place, and the forward's cache full precision again. */
        void restore(LlamaForward forward) {
            KvCache cache = forward.kvCache();
            forward.rewind(rows);
            forward.dropKvCodes();
            for (int l = 0; l < keys.size(); l++) {
                MemorySegment.copy(MemorySegment.ofArray(keys.get(l)), 0, cache.keyRows(l, 0, rows).data(), 0,
                        4L * keys.get(l).length);
                MemorySegment.copy(MemorySegment.ofArray(values.get(l)), 0, cache.valueRows(l, 0, rows).data(), 0,
                        4L * values.get(l).length);
            }
        }
    }

    /**
     * The harness can fail: an int8 cache whose full blocks come back with their scale 25% too large (the kind of
     * mistake a wrong scale index makes) is refused, on a 2K-token prompt.
     */
    @Test
    void aCacheDequantizedWithAWrongScaleFailsTheChecks() throws Exception {
        var files = PasskeyPrompt.files();
        assumeTrue(files.isPresent(), "shared data for the pass-key task is absent");
        Path[] f = files.get();
        try (LlamaModel model = ModelLoader.load(f[0].toString(), f[1], ProgressListener.NONE);
             CpuBackend cpu = CpuBackend.reference()) {
            CodedKvAccuracy.Task task = CodedKvAccuracy.Task.of(model.tokenizer(), f[2], 2048);
            int[] prompt = task.prompt().ids();
            try (LlamaForward forward = new LlamaForward(model.config(), model.weights(), cpu,
                    prompt.length + CodedKvAccuracy.CONTINUATION)) {
                float[] promptLogits = forward.prefill(prompt, ProgressListener.NONE);
                CodedKvAccuracy.Decoder reference = decoder(forward, prompt.length, promptLogits, null);
                CodedKvAccuracy.Decoder fp8 = decoder(forward, prompt.length, promptLogits, KvCodes.INT8);
                CodedKvAccuracy.Decoder wrongScale = new CodedKvAccuracy.Decoder() {
                    private boolean scaled;

                    public float[] atPromptEnd() {
                        float[] logits = fp8.atPromptEnd();
                        if (scaled) return logits;
                        scaled = true;
                        int quantized = prompt.length / 64 * 64;
                        for (int l = 0; l < model.config().numLayers(); l++) {
                            for (var t : new Tensor[] {forward.kvCache().keys(l),
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
                        () -> CodedKvAccuracy.check(task, model.tokenizer(), reference, wrongScale,
                                CodedKvAccuracy.Bounds.INT8));
                System.out.println("a wrong scale is refused: " + e.getMessage());
            }
        }
    }

    /** Decode from the prompt's end, with the cache's {@code codes} (null: full precision). */
    private static CodedKvAccuracy.Decoder decoder(LlamaForward forward, int promptLength, float[] promptLogits,
                                                 KvCodes codes) {
        return new CodedKvAccuracy.Decoder() {
            public float[] atPromptEnd() {
                forward.rewind(promptLength);
                if (codes != null) forward.useCodedKvCache(codes);
                return promptLogits;
            }

            public float[] decode(int token) {
                return forward.decode(token);
            }
        };
    }

    /**
     * A head size that is not a multiple of 16 (8 here, as stories260K's) keeps one int8 key scale per head, and decode
     * goes on past the blocks it fills (it stopped at the first full block when the key scales required multiples
     * of 16).
     */
    @Test
    void smallHeadsKeepAKeyScalePerHead() {
        var config = new LlamaConfig(64, 96, 2, 8, 4, 97, 256, 10000f, 1e-5f);
        try (var weights = RandomLlama.weights(config, 9, false, false); CpuBackend cpu = new CpuBackend(1);
             LlamaForward forward = new LlamaForward(config, weights, cpu, 200)) {
            int[] tokens = new int[70];
            for (int i = 0; i < tokens.length; i++) tokens[i] = (i * 5 + 1) % config.vocabSize();
            forward.prefill(tokens, ProgressListener.NONE);
            forward.useCodedKvCache(KvCodes.INT8);
            for (int step = 0; step < 70; step++) {
                float[] logits = forward.decode(step % config.vocabSize());
                for (float l : logits) assertTrue(Float.isFinite(l), "step " + step + ": a logit is " + l);
            }
            assertEquals(140, forward.position());
        }
    }

    @Test
    void quantizedBlocksHoldTheirDequantizedValuesAndThePartialBlockStaysExact() {
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
            forward.useCodedKvCache(KvCodes.INT8);
            var keys = forward.kvCache().keys(0);
            assertTrue(before == keys.getFloat(140L * config.kvDim()), "position 140 lies in the partial block");
            float after = keys.getFloat(10L * config.kvDim() + 1);
            // half an int8 step of the block's scale, plus the bf16 rounding of the value and of the block's max
            double bound = blockMax * (1 + 0x1p-8) / 127 * 0.5001 + Math.abs(quantizedBefore) * 0x1p-8;
            assertTrue(Math.abs(after - quantizedBefore) <= bound, quantizedBefore + " became " + after);
            assertThrows(IllegalArgumentException.class, () -> forward.rewind(151));
            assertThrows(IllegalStateException.class, () -> forward.useCodedKvCache(KvCodes.E4M3),
                    "a cache keeps one code format");
        }
    }
}
