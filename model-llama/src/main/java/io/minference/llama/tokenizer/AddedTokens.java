package io.minference.llama.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds the text of added tokens (such as {@code <|eot_id|>}) inside a text, which Hugging Face tokenizers turn into
 * those tokens' ids before any pre-tokenization. Matching is leftmost, then longest.
 */
final class AddedTokens {
    /** A piece of the text: either an added token's id (and {@code text} null) or plain text (and id -1). */
    record Segment(int id, String text) {
    }

    private record Candidate(String content, int id) {
    }

    private final Map<Character, List<Candidate>> byFirstChar = new HashMap<>();

    /** @param contents the added tokens' texts, indexed by id (null where an id is not an added token) */
    AddedTokens(String[] contents) {
        for (int id = 0; id < contents.length; id++) {
            String c = contents[id];
            if (c == null || c.isEmpty()) continue;
            byFirstChar.computeIfAbsent(c.charAt(0), k -> new ArrayList<>()).add(new Candidate(c, id));
        }
        for (List<Candidate> list : byFirstChar.values()) {
            list.sort(Comparator.comparingInt((Candidate c) -> c.content().length()).reversed()
                    .thenComparingInt(Candidate::id));
        }
    }

    List<Segment> split(String text) {
        List<Segment> segments = new ArrayList<>();
        if (byFirstChar.isEmpty()) {
            if (!text.isEmpty()) segments.add(new Segment(-1, text));
            return segments;
        }
        int plainStart = 0;
        int i = 0;
        while (i < text.length()) {
            Candidate match = matchAt(text, i);
            if (match == null) {
                i++;
                continue;
            }
            if (i > plainStart) segments.add(new Segment(-1, text.substring(plainStart, i)));
            segments.add(new Segment(match.id(), null));
            i += match.content().length();
            plainStart = i;
        }
        if (plainStart < text.length()) segments.add(new Segment(-1, text.substring(plainStart)));
        return segments;
    }

    private Candidate matchAt(String text, int at) {
        List<Candidate> candidates = byFirstChar.get(text.charAt(at));
        if (candidates == null) return null;
        for (Candidate c : candidates) {
            if (text.startsWith(c.content(), at)) return c;
        }
        return null;
    }
}
