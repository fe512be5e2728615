package io.minference.llama.tokenizer;

import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * LLaMA-3's pre-tokenizer: the "Split" regex of its tokenizer.json (behaviour "Isolated"), which cuts text into
 * words before BPE so that no token crosses a word, number or whitespace boundary.
 */
final class Llama3PreTokenizer {
    /** The pattern exactly as tokenizer.json spells it (Oniguruma syntax). */
    static final String HF_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /**
     * The same text is valid java.util.regex, but only with UNICODE_CHARACTER_CLASS does it mean the same thing:
     * {@code \s} must be Unicode White_Space (U+00A0, U+3000...) as in Oniguruma, and {@code (?i)} must fold
     * case beyond ASCII (it turns on UNICODE_CASE).
     */
    private static final Pattern PATTERN = Pattern.compile(HF_PATTERN, Pattern.UNICODE_CHARACTER_CLASS);

    private Llama3PreTokenizer() {
    }

    /** Passes each word of {@code text} to {@code word}, in order; together they spell the whole text. */
    static void split(String text, Consumer<String> word) {
        Matcher m = PATTERN.matcher(text);
        int end = 0;
        while (m.find()) {
            // Every character matches some alternative, so there are no gaps; "Isolated" would keep them if there were.
            if (m.start() > end) word.accept(text.substring(end, m.start()));
            word.accept(m.group());
            end = m.end();
        }
        if (end < text.length()) word.accept(text.substring(end));
    }
}
