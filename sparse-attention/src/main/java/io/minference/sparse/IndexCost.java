package io.minference.sparse;

/**
 * What an index covers and what it costs: the keys its query rows attend against the causal keys (their ratio is
 * the index density), and the 64 × 64 tiles of scores the kernels compute against the tiles of dense causal attention.
 * Tiles per (head, query block): each range walked in tiles of 64 keys from its start, plus the columns gathered 64
 * at a time (as {@link CpuSparseAttention} and the GPU kernel walk them). Costs of several heads or layers add up.
 */
public record IndexCost(long keysAttended, long causalKeys, long tiles, long denseTiles) {
    public static final IndexCost NONE = new IndexCost(0, 0, 0, 0);

    /** The cost of head slot {@code h} of {@code index}. */
    public static IndexCost of(SparseIndex index, int h) {
        int length = index.length();
        long attended = 0, tiles = 0;
        for (int b = 0; b < index.queryBlocks(); b++) {
            attended += IndexDensity.keysAttended(index, h, b);
            for (int r = 0; r < index.rangeCount(h, b); r++) {
                tiles += ceilBlocks(index.rangeEnd(h, b, r) - index.rangeStart(h, b, r));
            }
            tiles += ceilBlocks(index.columnCount(h, b));
        }
        return new IndexCost(attended, (long) length * (length + 1) / 2, tiles, denseTiles(length));
    }

    /** The cost of every head slot of {@code index}. */
    public static IndexCost of(SparseIndex index) {
        IndexCost sum = NONE;
        for (int h = 0; h < index.heads(); h++) sum = sum.plus(of(index, h));
        return sum;
    }

    /** Tiles of dense causal attention over {@code length} tokens, for one head. */
    public static long denseTiles(int length) {
        long blocks = SparseIndex.queryBlocks(length);
        return blocks * (blocks + 1) / 2;
    }

    public IndexCost plus(IndexCost other) {
        return new IndexCost(keysAttended + other.keysAttended, causalKeys + other.causalKeys, tiles + other.tiles,
                denseTiles + other.denseTiles);
    }

    /** Attended keys over causal keys: the mean fraction of the causal area computed; NaN when nothing was measured. */
    public double density() {
        return causalKeys == 0 ? Double.NaN : (double) keysAttended / causalKeys;
    }

    /** Tiles over the tiles of dense causal attention; NaN when nothing was measured. */
    public double tileDensity() {
        return denseTiles == 0 ? Double.NaN : (double) tiles / denseTiles;
    }

    private static long ceilBlocks(int n) {
        return (n + SparseIndex.BLOCK - 1) / SparseIndex.BLOCK;
    }
}
