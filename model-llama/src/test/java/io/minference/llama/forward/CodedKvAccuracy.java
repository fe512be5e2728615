package io.minference.llama.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.kernels.kvcache.KvCodes;
import io.minference.llama.generate.PasskeyPrompt;
import io.minference.llama.sampling.GreedySampler;
import io.minference.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * The accuracy checks of an 8-bit KV cache (int8 or fp8 = e4m3 codes) against bf16 (f32 on the CPU) on the tiny
 * pass-key model, the same on every backend. Only decode reads the codes, so every check is on decode after one
 * prompt: the logits of the first {@value #STEPS} greedy steps (the coded side fed the reference's tokens), relative
 * ({@code ||delta|| / ||ref||}) per step; the greedy answer (the generate-scored needle,
 * {@link PasskeyPrompt#ANSWER_TOKENS} tokens) token for token the same; and the perplexity of a
 * {@value #CONTINUATION}-token continuation, scored through decode.
 * <p>Issue 13 asks for 2e-2 per step and 1% in perplexity ({@link #TARGET_STEP_ERROR}, {@link #TARGET_PERPLEXITY}),
 * and int8 codes are held to exactly that ({@link Bounds#INT8}). e4m3 codes miss the first whatever their scales
 * (the CPU measured 0.042 at 8K and 0.051 at 16K with a scale per block and head, 0.030 and 0.033 with e4m3's
 * mantissa under an ideal per-value scale; {@code KvCodeGranularityMeasurement} prints the table), so they are held
 * to the looser bound their first tests asserted, the measured error with room for the GPU's summation order and
 * its bf16 reference ({@link Bounds#E4M3}: 8e-2 and 2%); the summary prints the measured figures beside issue 13's
 * targets either way. {@code CodedKvCacheCpuTest} shows that a cache with a wrong scale fails these checks.
 */
public final class CodedKvAccuracy {
    public static final int STEPS = 32;
    public static final int CONTINUATION = 128;
    /** Issue 13's bound on the per-step logit error. */
    public static final double TARGET_STEP_ERROR = 2e-2;
    /** Issue 13's bound on the perplexity change. */
    public static final double TARGET_PERPLEXITY = 0.01;

    /**
     * What is asserted for one code format.
     *
     * @param name             the format, for messages
     * @param stepError        the largest relative logit error of a step
     * @param perplexityChange the largest relative change of the continuation's perplexity
     */
    public record Bounds(String name, double stepError, double perplexityChange) {
        /** int8 codes: issue 13's bounds. */
        public static final Bounds INT8 = new Bounds("int8", TARGET_STEP_ERROR, TARGET_PERPLEXITY);
        /** e4m3 codes: the looser bounds of e4m3's first tests (it misses issue 13's). */
        public static final Bounds E4M3 = new Bounds("fp8 (e4m3)", 8e-2, 0.02);

        public static Bounds of(KvCodes codes) {
            return codes == KvCodes.E4M3 ? E4M3 : INT8;
        }
    }

    /** One cache format's decode after the prompt. */
    public interface Decoder {
        /** The logits after the whole prompt, with the sequence positioned right after it. */
        float[] atPromptEnd();

        float[] decode(int token);
    }

    private CodedKvAccuracy() {
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

    /** The reference's greedy tokens and their logits, and its continuation's mean negative log-likelihood. */
    public record Reference(int[] tokens, float[][] logits, double nll) {
    }

    /** Runs the reference side: {@value #STEPS} greedy steps, then the continuation. */
    public static Reference reference(Task task, Decoder decoder) {
        int[] tokens = new int[STEPS];
        float[][] logits = new float[STEPS][];
        float[] current = decoder.atPromptEnd();
        for (int s = 0; s < STEPS; s++) {
            tokens[s] = GreedySampler.argmax(current);
            logits[s] = current;
            if (s + 1 < STEPS) current = decoder.decode(tokens[s]);
        }
        return new Reference(tokens, logits, continuationNll(decoder, task.continuation()));
    }

    /**
     * Runs the checks, {@code reference} first (all its work done before {@code coded}'s starts, so that a CPU
     * forward can be switched to codes in between), and returns a one-line summary.
     */
    public static String check(Task task, Tokenizer tokenizer, Decoder reference, Decoder coded, Bounds bounds) {
        return check(task, tokenizer, reference(task, reference), coded, bounds);
    }

    /** Runs the checks of {@code coded} against a reference already run, and returns a one-line summary. */
    public static String check(Task task, Tokenizer tokenizer, Reference reference, Decoder coded, Bounds bounds) {
        int[] tokens = reference.tokens();
        int[] codedTokens = new int[STEPS];
        double worst = 0;
        int worstStep = 0;
        float[] current = coded.atPromptEnd();
        for (int s = 0; s < STEPS; s++) {
            codedTokens[s] = GreedySampler.argmax(current);
            double error = relativeError(reference.logits()[s], current);
            if (error > worst) {
                worst = error;
                worstStep = s;
            }
            if (s + 1 < STEPS) current = coded.decode(tokens[s]);
        }
        double codedNll = continuationNll(coded, task.continuation());
        int answerTokens = PasskeyPrompt.ANSWER_TOKENS;
        String answer = tokenizer.decode(Arrays.copyOf(tokens, answerTokens));
        int same = 0;
        while (same < STEPS && tokens[same] == codedTokens[same]) same++;
        double ratio = Math.exp(codedNll - reference.nll());
        String name = bounds.name();
        String summary = String.format(Locale.ROOT, "%s, %d tokens: worst step error %.4f (step %d; asserted %.3f,"
                        + " issue 13's target %.2f), answer '%s' (key %s), greedy tokens equal for the first %d of %d,"
                        + " continuation perplexity %.3f reference, %.3f %s (change %+.2f%%; asserted %.0f%%, target"
                        + " 1%%)", name, task.prompt().ids().length, worst, worstStep, bounds.stepError(),
                TARGET_STEP_ERROR, answer.strip(), task.prompt().key(), same, STEPS, Math.exp(reference.nll()),
                Math.exp(codedNll), name, 100 * (ratio - 1), 100 * bounds.perplexityChange());
        System.out.println(summary);
        assertTrue(task.prompt().isAnsweredBy(answer), () -> "the reference itself misses the key: " + summary);
        assertArrayEquals(Arrays.copyOf(tokens, answerTokens), Arrays.copyOf(codedTokens, answerTokens),
                () -> name + "'s greedy answer differs from the reference's: " + summary);
        assertTrue(worst <= bounds.stepError(), () -> name + " logits differ from the reference by more than "
                + bounds.stepError() + ": " + summary);
        assertTrue(Math.abs(ratio - 1) <= bounds.perplexityChange(), () -> name + " perplexity moved by more than "
                + bounds.perplexityChange() + ": " + summary);
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
