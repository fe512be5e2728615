package io.minference.sparse.pattern;

/** Room per (head, query block) of a {@link io.minference.sparse.SparseIndex}: ranges (at least one) and columns. */
public record IndexCapacity(int maxRanges, int maxColumns) {
    public IndexCapacity {
        if (maxRanges < 1 || maxColumns < 0) {
            throw new IllegalArgumentException("index capacity needs maxRanges >= 1 and maxColumns >= 0, got "
                    + maxRanges + ", " + maxColumns);
        }
    }

    /** Room for both. */
    public IndexCapacity union(IndexCapacity other) {
        return new IndexCapacity(Math.max(maxRanges, other.maxRanges), Math.max(maxColumns, other.maxColumns));
    }
}
