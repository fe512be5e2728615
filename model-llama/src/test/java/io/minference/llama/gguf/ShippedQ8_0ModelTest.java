package io.minference.llama.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.llama.LlamaModel;
import io.minference.llama.forward.LlamaForward;
import io.minference.llama.generate.PasskeyPrompt;
import io.minference.llama.load.ModelLoader;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.SharedData;
import io.minference.runtime.cpu.CpuBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tiny pass-key model that ships in models/ (Q8_0): it is what {@link GgufQuantization} makes of ../shared's F16
 * file, byte for byte; its logits stay close to the F16 model's; and it answers the pass key. Q8_0 changes the greedy
 * text (the Ishmael continuation parts from the F16 one after a dozen tokens), so the check is on logits, with this
 * bound: at the last position of each prompt, the largest logit difference is at most 1 % of the F16 logits'
 * range (max - min), and the F16 model's top token is the Q8_0 model's top token.
 */
class ShippedQ8_0ModelTest {
    private static final double MAX_DIFFERENCE_OF_RANGE = 0.01;

    @TempDir
    Path dir;

    private static Path shipped() {
        Path root = SharedData.projectRoot().orElseThrow(() -> new IllegalStateException("project root not found"));
        Path model = root.resolve(PasskeyPrompt.SHIPPED_MODEL);
        assertTrue(Files.isRegularFile(model), PasskeyPrompt.SHIPPED_MODEL + " is committed");
        return model;
    }

    private static Path shared(String relative) {
        Optional<Path> file = SharedData.file(relative);
        assumeTrue(file.isPresent(), "shared data " + relative + " is absent");
        return file.get();
    }

    @Test
    void theShippedFileIsTheProjectsOwnConversionOfTheF16Model() throws IOException {
        Path converted = dir.resolve("q8_0.gguf");
        try (GgufFile f16 = GgufFile.open(shared(PasskeyPrompt.MODEL))) {
            GgufQuantization.write(f16, converted, GgmlType.Q8_0);
        }
        assertArrayEquals(Files.readAllBytes(shipped()), Files.readAllBytes(converted),
                "models/ holds exactly what minference quantize --type q8_0 writes from " + PasskeyPrompt.MODEL);
    }

    @Test
    void logitsStayCloseToTheF16ModelsAndThePassKeyIsAnswered() throws IOException {
        String haystack = Files.readString(shared(PasskeyPrompt.HAYSTACK));
        try (LlamaModel q8 = ModelLoader.load(shipped().toString(), null, ProgressListener.NONE);
             LlamaModel f16 = ModelLoader.load(shared(PasskeyPrompt.MODEL).toString(), null, ProgressListener.NONE);
             CpuBackend cpu = new CpuBackend()) {
            for (long seed = 1; seed <= 2; seed++) {
                PasskeyPrompt prompt = PasskeyPrompt.build(q8.tokenizer(), haystack, 1024, 0.4, seed);
                float[] expected = lastLogits(f16, cpu, prompt.ids());
                float[] actual = lastLogits(q8, cpu, prompt.ids());
                double min = Double.MAX_VALUE;
                double max = -Double.MAX_VALUE;
                double difference = 0;
                for (int i = 0; i < expected.length; i++) {
                    min = Math.min(min, expected[i]);
                    max = Math.max(max, expected[i]);
                    difference = Math.max(difference, Math.abs(actual[i] - expected[i]));
                }
                System.out.printf("Q8_0 vs F16, %d-token pass-key prompt (seed %d): max |logit difference| %.4f,"
                        + " F16 logit range %.3f (%.2f %%)%n", prompt.ids().length, seed, difference, max - min,
                        100 * difference / (max - min));
                assertTrue(difference <= MAX_DIFFERENCE_OF_RANGE * (max - min), "max logit difference " + difference
                        + " exceeds " + MAX_DIFFERENCE_OF_RANGE + " of the range " + (max - min));
                assertEquals(argmax(expected), argmax(actual), "the top token");
                String answer = prompt.answer(q8, cpu);
                System.out.println("Q8_0 pass key " + prompt.key() + ", answer '" + answer + "'");
                assertTrue(prompt.isAnsweredBy(answer), "expected " + prompt.key() + ", got '" + answer + "'");
            }
        }
    }

    @Test
    void theShippedHaystackReadsAndHoldsA16kTokenPrompt() throws IOException {
        Path root = SharedData.projectRoot().orElseThrow();
        String text = PasskeyPrompt.readHaystack(root.resolve(PasskeyPrompt.SHIPPED_HAYSTACK));
        assertTrue(text.startsWith("CHAPTER 1. Loomings.\n\nCall me Ishmael."), text.substring(0, 40));
        try (LlamaModel q8 = ModelLoader.load(shipped().toString(), null, ProgressListener.NONE)) {
            PasskeyPrompt prompt = PasskeyPrompt.build(q8.tokenizer(), text, 16376, 0.9, 12);
            assertEquals(16376, prompt.ids().length);
        }
    }

    private static float[] lastLogits(LlamaModel model, CpuBackend cpu, int[] ids) {
        try (LlamaForward forward = new LlamaForward(model.config(), model.weights(), cpu, ids.length)) {
            return forward.prefill(ids, ProgressListener.NONE);
        }
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
