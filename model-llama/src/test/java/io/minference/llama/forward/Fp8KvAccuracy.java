package io.minference.llama.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.generate.PasskeyPrompt;
import io.minference.llama.sampling.GreedySampler;
import io.minference.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * The accuracy checks of an FP8 KV cache against bf16 (f32 on the CPU) on the tiny pass-key model, the same on
 * every backend. Only decode reads FP8, so every check is on decode after one prompt: the logits of the first
 * {@value #STEPS} greedy steps (the FP8 side fed the reference's tokens) within {@value #MAX_STEP_ERROR} relative
 * ({@code ||delta|| / ||ref||}) per step; the greedy answer token for token the same (the generate-scored needle);
 * and the perplexity of a {@value #CONTINUATION}-token continuation, scored through decode, within 1%.
 */
public final class Fp8KvAccuracy {
    public static final int STEPS = 32;
    public static final int CONTINUATION = 128;
    public static final double MAX_STEP_ERROR = 2e-2;
    public static final double MAX_PERPLEXITY_RATIO = 1.01;

    /** One cache format's decode after the prompt. */
    public interface Decoder {
        /** The logits after the whole prompt, with the sequence positioned right after it. */
        float[] atPromptEnd();

        float[] decode(int token);
    }

    private Fp8KvAccuracy() {
    }

    /** The pass-key prompt of {@code length} tokens (key at half depth) and a Moby-Dick continuation. */
    public record Task(PasskeyPrompt prompt, int[] continuation) {
        public static Task of(Tokenizer tokenizer, Path haystack, int length) throws IOException {
            PasskeyPrompt prompt = PasskeyPrompt.build(tokenizer, haystack, length, 0.5, 13);
            String text = Files.readString(haystack);
            int[] ids = tokenizer.encode(text.substring(600_000, 602_000));
            return new Task(prompt, Arrays.copyOf(ids, CONTINUATION));
        }
    }

    /**
     * Runs the checks, {@code reference} first (all its work done before {@code fp8}'s starts, so that a CPU forward
     * can be switched to FP8 in between), and returns a one-line summary.
     */
    public static String check(Task task, Tokenizer tokenizer, Decoder reference, Decoder fp8) {
        int[] tokens = new int[STEPS];
        float[][] logits = new float[STEPS][];
        float[] current = reference.atPromptEnd();
        for (int s = 0; s < STEPS; s++) {
            tokens[s] = GreedySampler.argmax(current);
            logits[s] = current;
            if (s + 1 < STEPS) current = reference.decode(tokens[s]);
        }
        double referenceNll = continuationNll(reference, task.continuation());

        int[] fp8Tokens = new int[STEPS];
        double worst = 0;
        current = fp8.atPromptEnd();
        for (int s = 0; s < STEPS; s++) {
            fp8Tokens[s] = GreedySampler.argmax(current);
            double error = relativeError(logits[s], current);
            worst = Math.max(worst, error);
            int step = s;
            assertTrue(error <= MAX_STEP_ERROR, () -> String.format(Locale.ROOT,
                    "step %d: FP8 logits differ from the reference by %.4f relative (bound %.2f)", step, error,
                    MAX_STEP_ERROR));
            if (s + 1 < STEPS) current = fp8.decode(tokens[s]);
        }
        double fp8Nll = continuationNll(fp8, task.continuation());
        String answer = tokenizer.decode(Arrays.copyOf(tokens, PasskeyPrompt.ANSWER_TOKENS));
        double ratio = Math.exp(fp8Nll - referenceNll);
        String summary = String.format(Locale.ROOT, "%d tokens: worst step error %.5f, answer '%s' (key %s),"
                        + " continuation perplexity %.3f reference, %.3f FP8 (ratio %.5f)", task.prompt().ids().length,
                worst, answer.strip(), task.prompt().key(), Math.exp(referenceNll), Math.exp(fp8Nll), ratio);
        assertTrue(task.prompt().isAnsweredBy(answer), () -> "the reference itself misses the key: " + summary);
        assertArrayEquals(tokens, fp8Tokens, () -> "FP8 greedy tokens differ from the reference's: " + summary);
        assertTrue(ratio <= MAX_PERPLEXITY_RATIO && ratio >= 1 / MAX_PERPLEXITY_RATIO, summary);
        return summary;
    }

    /** Mean negative log-likelihood of the continuation, teacher-forced from the prompt's end. */
    private static double continuationNll(Decoder decoder, int[] continuation) {
        float[] logits = decoder.atPromptEnd();
        double nll = 0;
        for (int i = 0; i < continuation.length; i++) {
            nll -= logProbability(logits, continuation[i]);
            if (i + 1 < continuation.length) logits = decoder.decode(continuation[i]);
        }
        return nll / continuation.length;
    }

    static double logProbability(float[] logits, int token) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) max = Math.max(max, l);
        double sum = 0;
        for (float l : logits) sum += Math.exp(l - max);
        return logits[token] - max - Math.log(sum);
    }

    static double relativeError(float[] reference, float[] actual) {
        double diff = 0, norm = 0;
        for (int i = 0; i < reference.length; i++) {
            diff += (double) (actual[i] - reference[i]) * (actual[i] - reference[i]);
            norm += (double) reference[i] * reference[i];
        }
        return Math.sqrt(diff / norm);
    }
}
