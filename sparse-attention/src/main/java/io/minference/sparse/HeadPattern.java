package io.minference.sparse;

import java.util.Map;

/**
 * The sparse shape one attention head follows, with its budget: what a per-head configuration says. A built-in
 * record per built-in pattern; {@link Custom} names a pattern added through the pattern SPI and carries its
 * parameters as text.
 */
public sealed interface HeadPattern {
    /** The pattern's registered name. */
    String name();

    /** Every key up to the query. */
    record Dense() implements HeadPattern {
        public String name() {
            return "dense";
        }
    }

    /** {@code sinkTokens} first keys plus a local window of {@code localTokens} keys ending at the query. */
    record AShape(int sinkTokens, int localTokens) implements HeadPattern {
        public AShape {
            if (sinkTokens < 0 || localTokens < 1) {
                throw new IllegalArgumentException("A-shape needs sink tokens >= 0 and local tokens >= 1, got "
                        + sinkTokens + ", " + localTokens);
            }
        }

        public String name() {
            return "a-shape";
        }
    }

    /** Key columns and diagonals estimated online from the last queries. */
    record VerticalSlash(Budget vertical, Budget slash) implements HeadPattern {
        /** MInference's most common budget: 1000 columns, 6096 diagonals. */
        public static final VerticalSlash DEFAULT = new VerticalSlash(Budget.topK(1000), Budget.topK(6096));

        public String name() {
            return "vertical-slash";
        }
    }

    /** Key blocks chosen per query block from mean-pooled Q and K. */
    record BlockSparse(Budget blocks) implements HeadPattern {
        public String name() {
            return "block-sparse";
        }
    }

    /** A pattern registered through the SPI under {@code name}, with its own parameters. */
    record Custom(String name, Map<String, String> parameters) implements HeadPattern {
        public Custom {
            parameters = Map.copyOf(parameters);
        }
    }
}
