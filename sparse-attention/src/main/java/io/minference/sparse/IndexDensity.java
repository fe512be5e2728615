package io.minference.sparse;

/**
 * The fraction of the causal area that a sparse prefill computed: keys attended over causal keys (query row i has
 * i + 1), summed over every head of every layer the prefill has seen. A figure of speed or accuracy comes with this
 * beside it, so that a speedup can be read against the work left out.
 *
 * <p>The CPU prefill adds each index it builds (a cheap count over the index's ranges and columns). The device
 * prefill measures only when made with a measuring density ({@link #measure()}), as each index must then be copied
 * back to the host: time a run made with {@link #off()}, and measure in another.
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
        IndexCost cost = IndexCost.of(index);
        attended += cost.keysAttended();
        causal += cost.causalKeys();
    }

    /** Counts a head that attended every causal key of a prompt of {@code length} tokens (a dense head). */
    public synchronized void addDense(int heads, int length) {
        if (!measuring) return;
        long area = (long) heads * length * (length + 1L) / 2;
        attended += area;
        causal += area;
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
