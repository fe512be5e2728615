package io.minference.sparse;

/**
 * How many columns, diagonals or blocks a pattern keeps: a fixed count, or as many as it takes for their estimated
 * attention mass to reach a fraction {@code gamma} of the whole (docs/sparse-attention.md).
 */
public sealed interface Budget {
    record TopK(int count) implements Budget {
        public TopK {
            if (count < 0) throw new IllegalArgumentException("a top-k budget cannot be negative, got " + count);
        }
    }

    record Mass(double gamma) implements Budget {
        public Mass {
            if (!(gamma > 0 && gamma <= 1)) {
                throw new IllegalArgumentException("a mass budget must lie in (0, 1], got " + gamma);
            }
        }
    }

    static Budget topK(int count) {
        return new TopK(count);
    }

    static Budget mass(double gamma) {
        return new Mass(gamma);
    }
}
