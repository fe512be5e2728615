package io.minference.llama.tokenizer;

import java.util.Arrays;

/**
 * The merge loop shared by BPE and the llama2.c tokenizer: repeatedly merge the adjacent pair of best priority
 * (ties: leftmost) until no pair can merge. The symbols are a doubly linked list over an array and the candidate
 * pairs a binary heap, so a word of n symbols takes O(n log n) rather than the naive O(n^2) rescans. Heap entries
 * are not removed when a merge invalidates them; they are checked when popped instead.
 */
final class PairMerger {
    /** What {@link Rule#lookup} returns when two tokens do not merge. */
    static final long NO_MERGE = -1L;

    /** Which pairs merge, into what, and in which order. */
    interface Rule {
        /**
         * @return {@link #NO_MERGE}, or the merge packed as {@code (long) priority << 32 | mergedId}, with
         *         priority >= 0 and lower priorities merged first
         */
        long lookup(int left, int right);
    }

    private PairMerger() {
    }

    static long pack(int priority, int mergedId) {
        return (long) priority << 32 | (mergedId & 0xFFFF_FFFFL);
    }

    static int[] merge(int[] symbols, Rule rule) {
        int n = symbols.length;
        if (n < 2) return symbols.clone();
        int[] ids = symbols.clone();
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] removed = new boolean[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        var heap = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) offer(heap, rule, ids, i, i + 1);

        int remaining = n;
        while (!heap.isEmpty()) {
            long entry = heap.poll();
            int priority = (int) (entry >>> 32);
            int pos = (int) entry;
            int right = next[pos];
            if (removed[pos] || right < 0) continue;
            long merge = rule.lookup(ids[pos], ids[right]);
            if (merge == NO_MERGE || (int) (merge >>> 32) != priority) continue; // stale: a neighbour has changed
            ids[pos] = (int) merge;
            removed[right] = true;
            remaining--;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            if (prev[pos] >= 0) offer(heap, rule, ids, prev[pos], pos);
            if (next[pos] >= 0) offer(heap, rule, ids, pos, next[pos]);
        }

        int[] out = new int[remaining];
        for (int i = 0, k = 0; i >= 0; i = next[i]) out[k++] = ids[i];
        return out;
    }

    private static void offer(LongHeap heap, Rule rule, int[] ids, int left, int right) {
        long merge = rule.lookup(ids[left], ids[right]);
        if (merge != NO_MERGE) heap.add((merge >>> 32) << 32 | left);
    }

    /** A min-heap of longs: (priority, position) entries ordered by priority, then position. */
    private static final class LongHeap {
        private long[] items;
        private int size;

        LongHeap(int capacity) {
            items = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void add(long item) {
            if (size == items.length) items = Arrays.copyOf(items, size * 2);
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (items[parent] <= item) break;
                items[i] = items[parent];
                i = parent;
            }
            items[i] = item;
        }

        long poll() {
            long top = items[0];
            long last = items[--size];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= size) break;
                if (child + 1 < size && items[child + 1] < items[child]) child++;
                if (items[child] >= last) break;
                items[i] = items[child];
                i = child;
            }
            items[i] = last;
            return top;
        }
    }
}
