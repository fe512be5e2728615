package io.minference.llama.generate;

import io.minference.llama.LlamaModel;
import io.minference.llama.forward.LlamaForward;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.GenerationListener;
import io.minference.llama.session.GenerationRequest;
import io.minference.llama.session.LlamaSession;
import io.minference.llama.session.PrefillOptions;
import io.minference.llama.session.PrefillResult;
import io.minference.llama.tokenizer.Tokenizer;
import io.minference.runtime.Backend;
import io.minference.runtime.SharedData;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.SplittableRandom;
import org.tukaani.xz.XZ;
import org.tukaani.xz.XZInputStream;

/**
 * The pass-key task the tiny pass-key model was trained on (../shared/README.md gives its wording): a 5-digit key
 * hidden at a depth of a haystack text, then the question, answered by greedy generation. The needle evaluation
 * ({@code minference eval needle}) and the pass-key tests build their prompts here.
 */
public record PasskeyPrompt(int[] ids, String key) {
    public static final String MODEL = "models/tiny-passkey-llama-f16.gguf";
    public static final String TOKENIZER = "models/tiny-passkey-llama-tokenizer.json";
    public static final String HAYSTACK = "text/moby-dick.txt";
    /** Tokens generated for an answer: the key's digits and a little more. */
    public static final int ANSWER_TOKENS = 6;
    /** The classic pass-key filler, for when no haystack text is at hand. */
    public static final String FILLER_SENTENCES = " The grass is green. The sky is blue. The sun is yellow."
            + " Here we go. There and back again.";

    /** The same model in Q8_0, committed in the repository (relative to its root); see {@link #modelFile()}. */
    public static final String SHIPPED_MODEL = "models/tiny-passkey-llama-q8_0.gguf";

    /**
     * The pass-key model: the F16 file from the shared data where present, else its Q8_0 conversion that ships in
     * the repository. The GPU bundle stages only the latter (the working tree carries it), to stay within a device
     * call's size limit; the two differ in logits by well under 1 % of their range.
     */
    public static Optional<Path> modelFile() {
        Optional<Path> f16 = SharedData.file(MODEL);
        if (f16.isPresent()) return f16;
        return SharedData.projectRoot().map(root -> root.resolve(SHIPPED_MODEL)).filter(Files::isRegularFile);
    }

    /** Chapters 1-27 of Moby-Dick, xz-compressed, committed in the repository (relative to its root). */
    public static final String SHIPPED_HAYSTACK = "texts/moby-dick-chapters-1-27.txt.xz";

    /** The shared Moby-Dick text where present, else the excerpt that ships in the repository (as for the model). */
    public static Optional<Path> haystackFile() {
        Optional<Path> full = SharedData.file(HAYSTACK);
        if (full.isPresent()) return full;
        return SharedData.projectRoot().map(root -> root.resolve(SHIPPED_HAYSTACK)).filter(Files::isRegularFile);
    }

    /** The UTF-8 text of a haystack file, plain or xz-compressed (recognised from its first bytes). */
    public static String readHaystack(Path file) throws IOException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            in.mark(XZ.HEADER_MAGIC.length);
            byte[] head = in.readNBytes(XZ.HEADER_MAGIC.length);
            in.reset();
            InputStream text = Arrays.equals(head, XZ.HEADER_MAGIC) ? new XZInputStream(in) : in;
            return new String(text.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The haystack text in the shared test data, when it is there. */
    public static Optional<Path> sharedHaystack() {
        return SharedData.file(HAYSTACK);
    }

    /** The files this task needs (model, tokenizer, haystack), or empty when one is absent. */
    public static Optional<Path[]> files() {
        Optional<Path> model = modelFile();
        Optional<Path> tokenizer = SharedData.file(TOKENIZER);
        Optional<Path> haystack = haystackFile();
        if (model.isEmpty() || tokenizer.isEmpty() || haystack.isEmpty()) return Optional.empty();
        return Optional.of(new Path[] {model.get(), tokenizer.get(), haystack.get()});
    }

    /**
     * @param length whole prompt length in tokens, BOS and question included
     * @param depth  where the needle goes, as a fraction of the haystack
     */
    public static PasskeyPrompt build(Tokenizer tokenizer, Path haystackFile, int length, double depth, long seed)
            throws IOException {
        return build(tokenizer, readHaystack(haystackFile), length, depth, seed);
    }

    /** As {@link #build(Tokenizer, Path, int, double, long)}, from the haystack's text. */
    public static PasskeyPrompt build(Tokenizer tokenizer, String haystack, int length, double depth, long seed) {
        if (!(depth >= 0 && depth <= 1)) throw new IllegalArgumentException("depth must lie in [0, 1], got " + depth);
        String key = String.valueOf(10000 + new SplittableRandom(seed).nextInt(90000));
        int[] needle = tokenizer.encode(" The secret pass key is " + key + ". Remember it. " + key
                + " is the pass key. ");
        int[] question = tokenizer.encode(" What is the secret pass key? The secret pass key is");
        int hayLength = length - 1 - needle.length - question.length;
        if (hayLength < 0) {
            throw new IllegalArgumentException("a pass-key prompt needs at least " + (1 + needle.length
                    + question.length) + " tokens, got " + length);
        }
        int[] hay = tokenizer.encode(haystack.substring(0, (int) Math.min(haystack.length(), hayLength * 8L)));
        if (hay.length < hayLength) {
            throw new IllegalArgumentException("the haystack holds " + hay.length + " tokens, too short for a prompt of "
                    + length + " tokens (" + hayLength + " of haystack needed)");
        }
        int split = (int) (hayLength * depth);
        int[] ids = new int[length];
        ids[0] = tokenizer.bos();
        int at = 1;
        for (int[] part : new int[][] {Arrays.copyOfRange(hay, 0, split), needle,
                Arrays.copyOfRange(hay, split, hayLength), question}) {
            System.arraycopy(part, 0, ids, at, part.length);
            at += part.length;
        }
        return new PasskeyPrompt(ids, key);
    }

    /** The filler sentences repeated to at least {@code chars} characters. */
    public static String filler(int chars) {
        return FILLER_SENTENCES.repeat(chars / FILLER_SENTENCES.length() + 1);
    }

    /**
     * Whether the answer gives the key: it must come first (after the space the question leaves open). The tiny
     * model often runs on with more digits after the key instead of the trained period; that still retrieves it.
     */
    public boolean isAnsweredBy(String answer) {
        return answer.strip().startsWith(key);
    }

    /**
     * How a trial fares when scored inside the prefill.
     *
     * @param retrieved        whether the greedy token at every position of the key's tokens is the key's token
     * @param keyLogLikelihood the sum over the key's tokens of their log-probability (natural log)
     * @param density          the fraction of the causal area the prefill computed (NaN where not measured)
     */
    public record PrefillScore(boolean retrieved, double keyLogLikelihood, double density) {
    }

    /**
     * Scores this trial inside one prefill of the prompt and its answer ({@link #scoredSequence}), with
     * {@code attention} over the whole sequence: the answer's positions see the needle only through the prefill's
     * attention, which is what a sparse pattern changes. The density is measured on either backend.
     */
    public PrefillScore scoreInPrefill(LlamaSession session, AttentionPlan attention) {
        Tokenizer tokenizer = session.tokenizer();
        int[] answer = answerTokens(tokenizer);
        PrefillResult r = session.prefill(scoredSequence(answer), PrefillOptions.lastLogits(answer.length)
                .withAttention(attention).measuringDensity());
        return score(r.logits(), answer, keyTokens(tokenizer, answer), r.density());
    }

    /** The density of a prefill of the prompt alone under {@code attention} (measured on either backend). */
    public double density(LlamaSession session, AttentionPlan attention) {
        return session.prefill(ids, PrefillOptions.lastLogits(1).withAttention(attention).measuringDensity()).density();
    }

    /** The trained answer, " 58213." for key 58213, as tokens. */
    public int[] answerTokens(Tokenizer tokenizer) {
        return tokenizer.encode(" " + key + ".");
    }

    /**
     * The prompt followed by {@code answer} less its last token: the sequence one prefill scores. The logits of its
     * last {@code answer.length} positions predict the answer's tokens, in order.
     */
    public int[] scoredSequence(int[] answer) {
        int[] sequence = Arrays.copyOf(ids, ids.length + answer.length - 1);
        System.arraycopy(answer, 0, sequence, ids.length, answer.length - 1);
        return sequence;
    }

    /**
     * Positions in {@code answer} of the tokens that carry the key's digits (the LLaMA-3 pre-tokenizer groups digits
     * in threes, so " 58213." is " ", "582", "13", "."): those whose text overlaps the key's characters.
     */
    public int[] keyTokens(Tokenizer tokenizer, int[] answer) {
        String text = tokenizer.decode(answer);
        int keyStart = text.indexOf(key);
        if (keyStart < 0) throw new IllegalArgumentException("the answer '" + text + "' does not hold the key " + key);
        int keyEnd = keyStart + key.length();
        int[] positions = new int[answer.length];
        int count = 0;
        int start = 0;
        for (int j = 0; j < answer.length; j++) {
            int end = tokenizer.decode(Arrays.copyOf(answer, j + 1)).length();
            if (start < keyEnd && end > keyStart) positions[count++] = j;
            start = end;
        }
        return Arrays.copyOf(positions, count);
    }

    /**
     * Scores the answer from the logits that predict its tokens ({@code logits[j]} predicts {@code answer[j]}):
     * retrieved when every key token is the greedy choice; the key's log-likelihood beside it, and the
     * {@code density} the prefill ran at.
     */
    public static PrefillScore score(float[][] logits, int[] answer, int[] keyTokens, double density) {
        if (logits.length != answer.length) {
            throw new IllegalArgumentException(logits.length + " rows of logits for an answer of " + answer.length
                    + " tokens");
        }
        boolean retrieved = true;
        double logLikelihood = 0;
        for (int j : keyTokens) {
            float[] row = logits[j];
            int best = 0;
            for (int t = 1; t < row.length; t++) if (row[t] > row[best]) best = t;
            retrieved &= best == answer[j];
            logLikelihood += LlamaSession.logSoftmax(row, answer[j]);
        }
        return new PrefillScore(retrieved, logLikelihood, density);
    }

    /** The model's greedy answer to the prompt, a few tokens long. */
    public String answer(LlamaModel model, Backend backend) {
        try (LlamaSession session = LlamaSession.open(model, backend, AttentionPlan.dense(),
                LlamaForward.DEFAULT_BLOCK_SIZE)) {
            return answer(session, AttentionPlan.dense());
        }
    }

    /** The greedy answer through {@code session}, its prompt prefilled as {@code attention} says. */
    public String answer(LlamaSession session, AttentionPlan attention) {
        return session.generate(ids, GenerationRequest.of(ANSWER_TOKENS).withAttention(attention),
                GenerationListener.NONE).text();
    }
}
