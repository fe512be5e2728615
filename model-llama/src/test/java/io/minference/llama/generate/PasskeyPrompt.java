package io.minference.llama.generate;

import io.minference.llama.LlamaModel;
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
 * hidden at a depth of a Moby-Dick haystack, then the question, answered by greedy generation.
 */
public record PasskeyPrompt(int[] ids, String key) {
    public static final String MODEL = "models/tiny-passkey-llama-f16.gguf";
    public static final String TOKENIZER = "models/tiny-passkey-llama-tokenizer.json";
    public static final String HAYSTACK = "text/moby-dick.txt";

    /** The shared files this task needs, or empty when one is absent. */
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
        String key = String.valueOf(10000 + new SplittableRandom(seed).nextInt(90000));
        int[] needle = tokenizer.encode(" The secret pass key is " + key + ". Remember it. " + key
                + " is the pass key. ");
        int[] question = tokenizer.encode(" What is the secret pass key? The secret pass key is");
        int hayLength = length - 1 - needle.length - question.length;
        String text = Files.readString(haystackFile);
        int[] hay = tokenizer.encode(text.substring(0, Math.min(text.length(), hayLength * 8)));
        if (hay.length < hayLength) throw new IllegalStateException("haystack too short for " + length + " tokens");
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

    /**
     * Whether the answer gives the key: it must come first (after the space the question leaves open). The tiny
     * model often runs on with more digits after the key instead of the trained period; that still retrieves it.
     */
    public boolean isAnsweredBy(String answer) {
        return answer.strip().startsWith(key);
    }

    /** The model's greedy answer to the prompt, a few tokens long. */
    public String answer(LlamaModel model, Backend backend) {
        try (Generator generator = new Generator(model, backend)) {
            GenerationResult result = generator.generate(ids, 6, SamplingOptions.GREEDY, id -> { }, null);
            return model.tokenizer().decode(result.generated());
        }
    }
}
