package io.minference.llama.generate;

import java.util.List;

/**
 * Stop sequences matched on generated text as it streams in, across token boundaries. A {@link Matcher} holds back
 * the longest tail of the text that could still begin a stop sequence, releases the rest, and once a sequence is
 * complete releases the text before it and stops: the stop sequence itself never reaches the output.
 */
public final class StopSequences {
    private final List<String> sequences;

    public StopSequences(List<String> sequences) {
        for (String s : sequences) {
            if (s == null || s.isEmpty()) throw new IllegalArgumentException("a stop sequence must not be empty");
        }
        this.sequences = List.copyOf(sequences);
    }

    public boolean isEmpty() {
        return sequences.isEmpty();
    }

    /** A matcher for one generation. */
    public Matcher matcher() {
        return new Matcher();
    }

    public final class Matcher {
        private final StringBuilder held = new StringBuilder();
        private boolean stopped;

        private Matcher() {
        }

        /** Adds decoded text and returns the text that can now be released (possibly empty). */
        public String offer(String piece) {
            if (stopped) throw new IllegalStateException("a stop sequence was already matched");
            held.append(piece);
            int earliest = -1;
            for (String s : sequences) {
                int at = held.indexOf(s);
                if (at >= 0 && (earliest < 0 || at < earliest)) earliest = at;
            }
            if (earliest >= 0) {
                stopped = true;
                String released = held.substring(0, earliest);
                held.setLength(0);
                return released;
            }
            int keep = longestTailThatBeginsAStop();
            String released = held.substring(0, held.length() - keep);
            held.delete(0, held.length() - keep);
            return released;
        }

        /** Whether a stop sequence has been matched. */
        public boolean stopped() {
            return stopped;
        }

        /** At the end of generation: the held-back text, which began no stop sequence after all. */
        public String finish() {
            String rest = held.toString();
            held.setLength(0);
            return rest;
        }

        private int longestTailThatBeginsAStop() {
            int best = 0;
            for (String s : sequences) {
                for (int n = Math.min(s.length() - 1, held.length()); n > best; n--) {
                    if (tailBegins(n, s)) {
                        best = n;
                        break;
                    }
                }
            }
            return best;
        }

        /** Whether the last {@code n} held characters are the first {@code n} of {@code stop}. */
        private boolean tailBegins(int n, String stop) {
            int from = held.length() - n;
            for (int i = 0; i < n; i++) {
                if (held.charAt(from + i) != stop.charAt(i)) return false;
            }
            return true;
        }
    }
}
