package io.minference.llama.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.generate.PasskeyPrompt;
import io.minference.llama.sampling.GreedySampler;
import io.minference.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * The accuracy checks of an FP8 KV cache against bf16 (f32 on the CPU) on the tiny pass-key model, the same on
 * every backend. Only decode reads FP8, so every check is on decode after one prompt: the logits of the first
 * {@value #STEPS} greedy steps (the FP8 side fed the reference's tokens), relative ({@code ||delta|| / ||ref||}) per
 * step; the greedy answer (the generate-scored needle, {@link PasskeyPrompt#ANSWER_TOKENS} tokens) token for token
 * the same; and the perplexity of a {@value #CONTINUATION}-token continuation, scored through decode.
 * <p>Issue 13 asks for 2e-2 per step and 1% in perplexity ({@link #TARGET_STEP_ERROR}, {@link #TARGET_PERPLEXITY}),
 * and these are what is asserted. e4m3 codes missed the first whatever their scales (the CPU measured 0.042 at 8K
 * and 0.051 at 16K with a scale per block and head, 0.030 and 0.033 with e4m3's mantissa under an ideal per-value
 * scale); the cache's int8 codes with the same scales meet it ({@code Fp8KvGranularityMeasurement} prints the
 * table). {@code Fp8KvCacheCpuTest} shows that a cache with a wrong scale fails these checks.
 */
public final class Fp8KvAccuracy {
    public static final int STEPS = 32;
    public static final int CONTINUATION = 128;
    /** Issue 13's bound on the per-step logit error. */
    public static final double TARGET_STEP_ERROR = 2e-2;
    /** Issue 13's bound on the perplexity change. */
    public static final double TARGET_PERPLEXITY = 0.01;

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
            // the shared Moby-Dick, or the shipped xz excerpt (the GPU bundle's), which is shorter than 600,000 chars
            String text = PasskeyPrompt.readHaystack(haystack);
            int from = Math.min(600_000, text.length() - 2_000);
            int[] ids = tokenizer.encode(text.substring(from, from + 2_000));
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
        int worstStep = 0;
        current = fp8.atPromptEnd();
        for (int s = 0; s < STEPS; s++) {
            fp8Tokens[s] = GreedySampler.argmax(current);
            double error = relativeError(logits[s], current);
            if (error > worst) {
                worst = error;
                worstStep = s;
            }
            if (s + 1 < STEPS) current = fp8.decode(tokens[s]);
        }
        double fp8Nll = continuationNll(fp8, task.continuation());
        int answerTokens = PasskeyPrompt.ANSWER_TOKENS;
        String answer = tokenizer.decode(Arrays.copyOf(tokens, answerTokens));
        int same = 0;
        while (same < STEPS && tokens[same] == fp8Tokens[same]) same++;
        double ratio = Math.exp(fp8Nll - referenceNll);
        String summary = String.format(Locale.ROOT, "%d tokens: worst step error %.4f (step %d; target %.2f),"
                        + " answer '%s' (key %s), FP8 greedy tokens equal for the first %d of %d, continuation"
                        + " perplexity %.3f reference, %.3f FP8 (change %+.2f%%; target 1%%)",
                task.prompt().ids().length, worst, worstStep, TARGET_STEP_ERROR, answer.strip(), task.prompt().key(),
                same, STEPS, Math.exp(referenceNll), Math.exp(fp8Nll), 100 * (ratio - 1));
        System.out.println(summary);
        assertTrue(task.prompt().isAnsweredBy(answer), () -> "the reference itself misses the key: " + summary);
        assertArrayEquals(Arrays.copyOf(tokens, answerTokens), Arrays.copyOf(fp8Tokens, answerTokens),
                () -> "FP8's greedy answer differs from the reference's: " + summary);
        assertTrue(worst <= TARGET_STEP_ERROR, () -> "FP8 logits differ from the reference by more than "
                + TARGET_STEP_ERROR + ": " + summary);
        assertTrue(Math.abs(ratio - 1) <= TARGET_PERPLEXITY, () -> "FP8 perplexity moved by more than "
                + TARGET_PERPLEXITY + ": " + summary);
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
