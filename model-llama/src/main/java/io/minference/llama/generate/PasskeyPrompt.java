package io.minference.llama.generate;

import io.minference.llama.LlamaModel;
import io.minference.llama.forward.LlamaForward;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.GenerationListener;
import io.minference.llama.session.GenerationRequest;
import io.minference.llama.session.LlamaSession;
import io.minference.llama.tokenizer.Tokenizer;
import io.minference.runtime.Backend;
import io.minference.runtime.SharedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.SplittableRandom;

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

    /** The shared files this task needs, or empty when one is absent. */
    /** The haystack text in the shared test data, when it is there. */
    public static Optional<Path> sharedHaystack() {
        return SharedData.file(HAYSTACK);
    }

    public static Optional<Path[]> files() {
        Optional<Path> model = SharedData.file(MODEL);
        Optional<Path> tokenizer = SharedData.file(TOKENIZER);
        Optional<Path> haystack = SharedData.file(HAYSTACK);
        if (model.isEmpty() || tokenizer.isEmpty() || haystack.isEmpty()) return Optional.empty();
        return Optional.of(new Path[] {model.get(), tokenizer.get(), haystack.get()});
    }

    /**
     * @param length whole prompt length in tokens, BOS and question included
     * @param depth  where the needle goes, as a fraction of the haystack
     */
    public static PasskeyPrompt build(Tokenizer tokenizer, Path haystackFile, int length, double depth, long seed)
            throws IOException {
        return build(tokenizer, Files.readString(haystackFile), length, depth, seed);
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
