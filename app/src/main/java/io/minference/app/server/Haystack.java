package io.minference.app.server;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;

/**
 * A pass-key retrieval prompt of about a chosen length: filler sentences with the pass key hidden at a chosen depth,
 * then the question, in the wording the tiny pass-key model was trained on (../shared/README.md). The filler is
 * generated here from a seed (plain sentences about the sea and towns), or cut from a text the user chose.
 */
final class Haystack {
    static final String QUESTION = " What is the secret pass key? The secret pass key is";

    private static final String[] SUBJECTS = {"The old sailor", "A grey whale", "The captain", "The harbour town",
            "A young clerk", "The winter wind", "The ship's cook", "A lighthouse keeper", "The first mate",
            "A fishing boat", "The river", "An old map"};
    private static final String[] VERBS = {"watched", "remembered", "followed", "carried", "described", "passed",
            "found", "lost", "crossed", "mended"};
    private static final String[] OBJECTS = {"the long grey coast", "a bundle of letters", "the morning tide",
            "the broken mast", "a lantern", "the crowded market", "the northern islands", "a quiet street",
            "the heavy nets", "the evening bells"};
    private static final String[] ENDINGS = {"before the sun rose", "in the cold rain", "without a word",
            "as the gulls cried", "for many days", "near the old church", "under a pale sky", "after the storm"};

    private Haystack() {
    }

    /**
     * @param context      the filler with the needle
     * @param promptTokens the length of {@link #prompt} in tokens, BOS included
     */
    record Sample(String context, String passKey, int promptTokens, int depthPercent) {
        /** The whole prompt: the context, then the question. */
        String prompt() {
            return context + QUESTION;
        }
    }

    /** The needle; like every filler sentence it begins with its separating space. */
    static String needle(String passKey) {
        return " The secret pass key is " + passKey + ". Remember it. " + passKey + " is the pass key.";
    }

    /** Filler sentences generated from {@code seed}. */
    static Supplier<String> generatedFiller(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        return () -> " " + pick(random, SUBJECTS) + " " + pick(random, VERBS) + " " + pick(random, OBJECTS) + " "
                + pick(random, ENDINGS) + ".";
    }

    /** Filler cut from {@code text} sentence by sentence, starting over at its end. */
    static Supplier<String> textFiller(String text) {
        String[] sentences = text.replaceAll("\\s+", " ").strip().split("(?<=[.!?]) ");
        if (sentences.length == 0 || sentences[0].isEmpty()) throw ApiException.invalid("file", "the text is empty");
        int[] next = {0};
        return () -> " " + sentences[next[0]++ % sentences.length];
    }

    /**
     * @param tokenCount   a text's length in tokens, BOS not included
     * @param tokens       the prompt's length in tokens, BOS included, approximately (within a sentence)
     * @param depthPercent where the needle goes, as a percentage of the filler
     */
    static Sample build(ToIntFunction<String> tokenCount, int tokens, int depthPercent, String passKey, Supplier<String> filler) {
        int fixed = 1 + tokenCount.applyAsInt(needle(passKey)) + tokenCount.applyAsInt(QUESTION);
        int budget = tokens - fixed;
        List<String> sentences = new ArrayList<>();
        int used = 0;
        while (used < budget) {
            String sentence = filler.get();
            sentences.add(sentence);
            used += tokenCount.applyAsInt(sentence);
        }
        int at = (int) Math.round(sentences.size() * depthPercent / 100.0);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i <= sentences.size(); i++) {
            if (i == at) text.append(needle(passKey));
            if (i < sentences.size()) text.append(sentences.get(i));
        }
        String context = text.toString().strip();
        return new Sample(context, passKey, 1 + tokenCount.applyAsInt(context + QUESTION), depthPercent);
    }

    private static String pick(SplittableRandom random, String[] words) {
        return words[random.nextInt(words.length)];
    }
}
