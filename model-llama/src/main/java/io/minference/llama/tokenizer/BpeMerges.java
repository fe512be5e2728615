package io.minference.llama.tokenizer;

import java.util.Arrays;

/**
 * BPE merge ranks as a {@link PairMerger.Rule}: an open-addressing hash table from a pair of token ids to the
 * merge's rank and result. (A HashMap of boxed keys would triple the memory of LLaMA-3's 280K merges.)
 */
final class BpeMerges implements PairMerger.Rule {
    private static final long EMPTY = -1L;

    private final long[] keys;
    private final long[] values;
    private final int mask;
    private int size;

    BpeMerges(int expected) {
        int capacity = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[capacity];
        values = new long[capacity];
        mask = capacity - 1;
        Arrays.fill(keys, EMPTY);
    }

    /** Adds a merge unless the pair already has one: a repeated merge keeps its first (better) rank. */
    void add(int left, int right, int rank, int merged) {
        long key = key(left, right);
        int slot = slot(key);
        while (keys[slot] != EMPTY) {
            if (keys[slot] == key) return;
            slot = (slot + 1) & mask;
        }
        keys[slot] = key;
        values[slot] = PairMerger.pack(rank, merged);
        size++;
    }

    int size() {
        return size;
    }

    @Override
    public long lookup(int left, int right) {
        long key = key(left, right);
        for (int slot = slot(key); ; slot = (slot + 1) & mask) {
            long k = keys[slot];
            if (k == key) return values[slot];
            if (k == EMPTY) return PairMerger.NO_MERGE;
        }
    }

    private static long key(int left, int right) {
        return (long) left << 32 | (right & 0xFFFF_FFFFL);
    }

    private int slot(long key) {
        long h = key * 0x9E37_79B9_7F4A_7C15L;
        return (int) (h >>> 32) & mask;
    }
}
