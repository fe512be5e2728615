package io.minference.llama.session;

import io.minference.sparse.SparseIndex;

/**
 * The keys one head keeps for a prompt under its pattern, read-only, as {@link LlamaSession#headKeys} finds them (for
 * drawing them: the demo's pattern picture). Query block {@code b} holds rows {@code [64 b, blockEnd(b))}; its keys
 * are ranges {@code [start, end)} and single columns, each row attending those at or before it.
 */
public final class KeptKeys {
    /** Query rows per block. */
    public static final int BLOCK = SparseIndex.BLOCK;

    private final SparseIndex index;
    private final int slot;

    private KeptKeys(SparseIndex index, int slot) {
        this.index = index;
        this.slot = slot;
    }

    /** Head slot {@code slot} of {@code index}, which must not change afterwards. */
    public static KeptKeys of(SparseIndex index, int slot) {
        if (slot < 0 || slot >= index.heads()) {
            throw new IllegalArgumentException("slot " + slot + " is outside the index's " + index.heads() + " heads");
        }
        return new KeptKeys(index, slot);
    }

    /** Prompt tokens. */
    public int length() {
        return index.length();
    }

    public int queryBlocks() {
        return index.queryBlocks();
    }

    /** One past the last row of query block {@code b}. */
    public int blockEnd(int b) {
        return index.blockEnd(b);
    }

    public int rangeCount(int b) {
        return index.rangeCount(slot, b);
    }

    public int rangeStart(int b, int r) {
        return index.rangeStart(slot, b, r);
    }

    public int rangeEnd(int b, int r) {
        return index.rangeEnd(slot, b, r);
    }

    public int columnCount(int b) {
        return index.columnCount(slot, b);
    }

    public int column(int b, int c) {
        return index.column(slot, b, c);
    }

    /** The keys query row {@code row} attends. */
    public int keysAttended(int row) {
        return index.keysAttended(slot, row);
    }
}
