package io.minference.sparse;

/**
 * Adds up the {@link IndexCost} of every index a sparse prefill builds, so that an evaluation can report the density
 * its figures were measured at. Safe to share between threads.
 */
public final class IndexMeter {
    private IndexCost total = IndexCost.NONE;

    public synchronized void add(SparseIndex index) {
        total = total.plus(IndexCost.of(index));
    }

    /** Everything measured since the last {@link #reset}. */
    public synchronized IndexCost total() {
        return total;
    }

    public synchronized void reset() {
        total = IndexCost.NONE;
    }
}
