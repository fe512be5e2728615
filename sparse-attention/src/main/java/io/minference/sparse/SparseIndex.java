package io.minference.sparse;

import java.util.Arrays;

/**
 * Which keys each 64-query block of some heads attends: the one format every pattern builds and every sparse kernel
 * (CPU and GPU) reads. See docs/sparse-attention.md for the rules the builders follow.
 *
 * <p>For head slot {@code h} (head {@code firstHead + h}) and query block {@code b} (queries
 * {@code [64b, min(64b + 64, length))}):
 * <ul>
 *   <li>{@code rangeCount(h, b)} key ranges {@code [start, end)}: sorted, disjoint and not touching (adjacent runs
 *       are merged), end at most the block's end. A range may start at any key (a vertical-slash diagonal covers
 *       exactly the 64 keys it crosses); kernels walk it in tiles of {@link #BLOCK} keys from its start;</li>
 *   <li>{@code columnCount(h, b)} single key columns, ascending, each before the block's end and inside no range
 *       of the block.</li>
 * </ul>
 * Query row i attends exactly the keys of the ranges and columns that are at most i (the causal mask still applies
 * inside them). The host's flat arrays (the device's are compact, below): {@code rangeCounts[h * queryBlocks + b]},
 * {@code ranges[((h * queryBlocks + b) * maxRanges + r) * 2 + {0: start, 1: end}]}, {@code columnCounts[...]} as
 * rangeCounts, {@code columns[(h * queryBlocks + b) * maxColumns + c]}.
 *
 * <p>On the device the same keys travel compacted ({@link io.minference.sparse.gpu.DeviceSparseIndex}, what the
 * kernels read): u32 arrays {@code rangeOffsets[slots + 1]}, {@code rangeCounts[slots]}, {@code ranges[2 (total +
 * 2)]} (start, end pairs packed slot after slot, two spare pairs at the end), {@code columnOffsets[slots + 1]},
 * {@code columnCounts[slots]}, {@code columns[total + 1]}, slot {@code s = h * queryBlocks + b}; each array starts
 * 256-byte aligned; slot s's ranges are {@code ranges[2 rangeOffsets[s] ..]}, at most
 * {@code rangeOffsets[s + 1] - rangeOffsets[s]} of them. Range starts are any key (not 64-aligned); a kernel walks
 * a range in 64-key tiles from its start and masks the keys past its end.
 */
public final class SparseIndex {
    /** Query and key block edge, in tokens. */
    public static final int BLOCK = 64;

    private final int firstHead;
    private final int heads;
    private final int length;
    private final int queryBlocks;
    private final int maxRanges;
    private final int maxColumns;
    private final int[] rangeCounts;
    private final int[] ranges;
    private final int[] columnCounts;
    private final int[] columns;

    /**
     * An empty index of {@code heads} heads starting at {@code firstHead}, for a prompt of {@code length} tokens,
     * with room for {@code maxRanges} ranges and {@code maxColumns} columns per query block.
     */
    public SparseIndex(int firstHead, int heads, int length, int maxRanges, int maxColumns) {
        if (firstHead < 0 || heads < 1 || length < 1 || maxRanges < 1 || maxColumns < 0) {
            throw new IllegalArgumentException("sparse index needs firstHead >= 0, heads >= 1, length >= 1,"
                    + " maxRanges >= 1 and maxColumns >= 0; got " + firstHead + ", " + heads + ", " + length + ", "
                    + maxRanges + ", " + maxColumns);
        }
        this.firstHead = firstHead;
        this.heads = heads;
        this.length = length;
        this.queryBlocks = queryBlocks(length);
        this.maxRanges = maxRanges;
        this.maxColumns = maxColumns;
        long slots = (long) heads * queryBlocks;
        if (slots * maxRanges * 2 > Integer.MAX_VALUE - 8 || slots * maxColumns > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("sparse index of " + heads + " heads x " + queryBlocks
                    + " query blocks x (" + maxRanges + " ranges, " + maxColumns
                    + " columns) does not fit one Java array; build it for fewer heads at a time");
        }
        this.rangeCounts = new int[(int) slots];
        this.ranges = new int[(int) (slots * maxRanges * 2)];
        this.columnCounts = new int[(int) slots];
        this.columns = new int[(int) (slots * maxColumns)];
    }

    public static int queryBlocks(int length) {
        return (length + BLOCK - 1) / BLOCK;
    }

    /** End (exclusive) of query block b's rows. */
    public int blockEnd(int block) {
        return Math.min((block + 1) * BLOCK, length);
    }

    /**
     * Appends range [start, end) to slot (h, b). Ranges must come in ascending order; one that starts where the
     * previous ends is merged into it.
     */
    public void addRange(int h, int b, int start, int end) {
        int slot = slot(h, b);
        if (start < 0 || start >= end || end > blockEnd(b)) {
            throw new IllegalArgumentException("range [" + start + ", " + end + ") of query block " + b
                    + " must start at a key >= 0 and end after its start, by " + blockEnd(b));
        }
        int n = rangeCounts[slot];
        int base = slot * maxRanges * 2;
        if (n > 0) {
            int previousEnd = ranges[base + 2 * (n - 1) + 1];
            if (start < previousEnd) {
                throw new IllegalArgumentException("range [" + start + ", " + end + ") overlaps or precedes the"
                        + " previous one, ending at " + previousEnd);
            }
            if (start == previousEnd) {
                ranges[base + 2 * (n - 1) + 1] = end;
                return;
            }
        }
        if (n == maxRanges) {
            throw new IllegalStateException("query block " + b + " of head slot " + h + " already holds "
                    + maxRanges + " ranges");
        }
        ranges[base + 2 * n] = start;
        ranges[base + 2 * n + 1] = end;
        rangeCounts[slot] = n + 1;
    }

    /** Appends column {@code key} to slot (h, b), in ascending order; a column inside a range is refused. */
    public void addColumn(int h, int b, int key) {
        int slot = slot(h, b);
        int n = columnCounts[slot];
        if (key < 0 || key >= blockEnd(b) || (n > 0 && key <= column(h, b, n - 1)) || insideRange(h, b, key)) {
            throw new IllegalArgumentException("column " + key + " of query block " + b
                    + " must be ascending, before " + blockEnd(b) + " and outside the block's ranges");
        }
        if (n == maxColumns) {
            throw new IllegalStateException("query block " + b + " of head slot " + h + " already holds "
                    + maxColumns + " columns");
        }
        columns[slot * maxColumns + n] = key;
        columnCounts[slot] = n + 1;
    }

    public boolean insideRange(int h, int b, int key) {
        for (int r = 0; r < rangeCount(h, b); r++) {
            if (key >= rangeStart(h, b, r) && key < rangeEnd(h, b, r)) return true;
        }
        return false;
    }

    public int rangeCount(int h, int b) {
        return rangeCounts[slot(h, b)];
    }

    public int rangeStart(int h, int b, int r) {
        return ranges[(slot(h, b) * maxRanges + r) * 2];
    }

    public int rangeEnd(int h, int b, int r) {
        return ranges[(slot(h, b) * maxRanges + r) * 2 + 1];
    }

    public int columnCount(int h, int b) {
        return columnCounts[slot(h, b)];
    }

    public int column(int h, int b, int c) {
        return columns[slot(h, b) * maxColumns + c];
    }

    /** Keys query row {@code i} attends under slot h: the ranges' and columns' keys at most i. */
    public int keysAttended(int h, int i) {
        int b = i / BLOCK;
        int n = 0;
        for (int r = 0; r < rangeCount(h, b); r++) {
            n += Math.max(0, Math.min(rangeEnd(h, b, r), i + 1) - rangeStart(h, b, r));
        }
        for (int c = 0; c < columnCount(h, b); c++) {
            if (column(h, b, c) <= i) n++;
        }
        return n;
    }

    /**
     * Key tiles a kernel computes for slot (h, b): each range walked in tiles of {@link #BLOCK} keys from its start,
     * then the columns gathered {@link #BLOCK} at a time.
     */
    public int tiles(int h, int b) {
        return rangeTiles(h, b) + columnTiles(h, b);
    }

    /** Slot (h, b)'s range tiles: {@code ceil((end - start) / 64)} per range. */
    public int rangeTiles(int h, int b) {
        return rangeTiles(h, b, BLOCK);
    }

    /**
     * Slot (h, b)'s range tiles when a kernel copies ranges in boxes of {@code box} keys (a divisor of 64) and fills a
     * tile with the next {@code 64 / box} boxes of the slot's ranges: {@code ceil(box count / (64 / box))}, each range
     * taking {@code ceil((end - start) / box)} boxes. With {@code box} 64, {@link #rangeTiles(int, int)}. The Hopper
     * kernel's {@code rangeBox} (DenseFallback and the launch order weigh tiles of 64 whatever the box).
     */
    public int rangeTiles(int h, int b, int box) {
        if (box < 1 || BLOCK % box != 0) {
            throw new IllegalArgumentException("a range box divides " + BLOCK + " keys; got " + box);
        }
        int boxes = 0;
        for (int r = 0; r < rangeCount(h, b); r++) {
            boxes += (rangeEnd(h, b, r) - rangeStart(h, b, r) + box - 1) / box;
        }
        int boxesPerTile = BLOCK / box;
        return (boxes + boxesPerTile - 1) / boxesPerTile;
    }

    /** Slot (h, b)'s column tiles: its gathered columns, {@link #BLOCK} a tile. */
    public int columnTiles(int h, int b) {
        return (columnCount(h, b) + BLOCK - 1) / BLOCK;
    }

    /** Key tiles of head slot h over all its query blocks (what {@link DenseFallback} weighs). */
    public long tiles(int h) {
        return boxedTiles(h, BLOCK);
    }

    /**
     * Key tiles of head slot h over all its query blocks for a kernel that copies ranges in boxes of {@code box} keys
     * ({@link #rangeTiles(int, int, int)} plus the column tiles); {@link #tiles(int)} with {@code box} 64.
     */
    public long boxedTiles(int h, int box) {
        long tiles = 0;
        for (int b = 0; b < queryBlocks; b++) tiles += rangeTiles(h, b, box) + columnTiles(h, b);
        return tiles;
    }

    /** Key tiles of causal (dense) attention over {@code length} queries: query block b has b + 1. */
    public static long causalTiles(int length) {
        long blocks = queryBlocks(length);
        return blocks * (blocks + 1) / 2;
    }

    /** Empties slot h's query blocks, so that another selection (a dense fallback) can be written in their place. */
    public void clearHead(int h) {
        slot(h, 0);
        Arrays.fill(rangeCounts, h * queryBlocks, (h + 1) * queryBlocks, 0);
        Arrays.fill(columnCounts, h * queryBlocks, (h + 1) * queryBlocks, 0);
    }

    private int slot(int h, int b) {
        if (h < 0 || h >= heads || b < 0 || b >= queryBlocks) {
            throw new IndexOutOfBoundsException("head slot " + h + " of " + heads + ", query block " + b + " of "
                    + queryBlocks);
        }
        return h * queryBlocks + b;
    }

    public int firstHead() { return firstHead; }
    public int heads() { return heads; }
    public int length() { return length; }
    public int queryBlocks() { return queryBlocks; }
    public int maxRanges() { return maxRanges; }
    public int maxColumns() { return maxColumns; }

    /** The flat arrays (not copies: do not modify); DeviceSparseIndex.upload packs them. */
    public int[] rangeCountArray() { return rangeCounts; }
    public int[] rangeArray() { return ranges; }
    public int[] columnCountArray() { return columnCounts; }
    public int[] columnArray() { return columns; }

    /** True when both indices hold the same heads, ranges and columns. */
    public boolean sameKeys(SparseIndex other) {
        if (other.heads != heads || other.firstHead != firstHead || other.length != length) return false;
        for (int h = 0; h < heads; h++) {
            for (int b = 0; b < queryBlocks; b++) {
                if (rangeCount(h, b) != other.rangeCount(h, b) || columnCount(h, b) != other.columnCount(h, b)) {
                    return false;
                }
                for (int r = 0; r < rangeCount(h, b); r++) {
                    if (rangeStart(h, b, r) != other.rangeStart(h, b, r)
                            || rangeEnd(h, b, r) != other.rangeEnd(h, b, r)) return false;
                }
                for (int c = 0; c < columnCount(h, b); c++) {
                    if (column(h, b, c) != other.column(h, b, c)) return false;
                }
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return "SparseIndex[heads " + firstHead + ".." + (firstHead + heads - 1) + ", length " + length
                + ", maxRanges " + maxRanges + ", maxColumns " + maxColumns + ", ranges per block "
                + Arrays.stream(rangeCounts).summaryStatistics() + "]";
    }
}
