package io.minference.sparse.pattern;

import io.minference.sparse.SparseIndex;

/** One head's estimated selection, ready to be written into a slot of a {@link SparseIndex}. */
public interface HeadIndex {
    /** The room this head's query blocks need at most. */
    IndexCapacity capacity();

    /** Writes every query block of this head into slot {@code h} of {@code index} (empty before the call). */
    void writeTo(SparseIndex index, int h);
}
