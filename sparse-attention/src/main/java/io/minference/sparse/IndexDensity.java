package io.minference.sparse;

/**
 * The fraction of the causal area that a sparse prefill computed: keys attended over causal keys (query row i has
 * i + 1), summed over every head of every layer the prefill has seen. A figure of speed or accuracy comes with this
 * beside it, so that a speedup can be read against the work left out.
 *
 * <p>The CPU prefill adds each index it builds (a cheap count over the index's ranges and columns). The device
 * prefill measures only when made with a measuring density ({@link #measure()}): it then counts each head's keys on
 * the device (a small kernel per head batch, read back in the wait the dense fallback already makes) and adds them
 * with {@link #addKeys}.
 */
public final class IndexDensity {
    private final boolean measuring;
    private long attended;
    private long causal;

    private IndexDensity(boolean measuring) {
        this.measuring = measuring;
    }

    /** A density that counts every index it is given. */
    public static IndexDensity measure() {
        return new IndexDensity(true);
    }

    /** A density that counts nothing: a device prefill skips copying its indices back. */
    public static IndexDensity off() {
        return new IndexDensity(false);
    }

    public boolean measuring() {
        return measuring;
    }

    /** Counts every head slot of {@code index}. */
    public synchronized void add(SparseIndex index) {
        if (!measuring) return;
        long length = index.length();
        for (int h = 0; h < index.heads(); h++) {
            for (int b = 0; b < index.queryBlocks(); b++) attended += keysAttended(index, h, b);
            causal += length * (length + 1) / 2;
        }
    }

    /**
     * The keys query block {@code b}'s rows attend under slot {@code h}, summed over the rows in closed form (the
     * sum of {@link SparseIndex#keysAttended} over the block, in time linear in its ranges and columns rather than
     * in its rows: a 128K-token prompt's indices are counted in a fraction of a second).
     */
    static long keysAttended(SparseIndex index, int h, int b) {
        long lo = (long) b * SparseIndex.BLOCK;
        long hi = index.blockEnd(b);
        long n = 0;
        for (int r = 0; r < index.rangeCount(h, b); r++) {
            long start = index.rangeStart(h, b, r), end = index.rangeEnd(h, b, r);
            // Row i attends min(end, i + 1) - start keys of [start, end) when i >= start: i + 1 - start while
            // i < end - 1, then the whole range.
            long rampFrom = Math.max(lo, start), rampTo = Math.min(hi, end - 1);
            if (rampTo > rampFrom) n += (rampTo - rampFrom) * (rampFrom + rampTo + 1 - 2 * start) / 2;
            long fullFrom = Math.max(lo, end - 1);
            if (hi > fullFrom) n += (hi - fullFrom) * (end - start);
        }
        for (int c = 0; c < index.columnCount(h, b); c++) {
            n += Math.max(0, hi - Math.max(lo, index.column(h, b, c)));
        }
        return n;
    }

    /** Counts a head that attended every causal key of a prompt of {@code length} tokens (a dense head). */
    public synchronized void addDense(int heads, int length) {
        if (!measuring) return;
        long area = (long) heads * length * (length + 1L) / 2;
        attended += area;
        causal += area;
    }

    /**
     * Counts {@code heads} heads that attended {@code attendedKeys} keys in all over a prompt of {@code length}
     * tokens (a count made elsewhere: on the device).
     */
    public synchronized void addKeys(long attendedKeys, int heads, int length) {
        if (!measuring) return;
        attended += attendedKeys;
        causal += (long) heads * length * (length + 1L) / 2;
    }

    /** Keys attended over causal keys, or NaN when nothing was counted. */
    public synchronized double fraction() {
        return causal == 0 ? Double.NaN : attended / (double) causal;
    }

    public synchronized long attendedKeys() {
        return attended;
    }

    public synchronized long causalKeys() {
        return causal;
    }
}
