package io.minference.sparse.gpu;

import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.sparse.SparseIndex;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A {@link SparseIndex} in device memory, compacted: every (head slot, query block) slot {@code s = h * queryBlocks
 * + b} has its own reserved run of ranges and of columns inside two packed arrays, so that an index takes what its
 * slots need instead of its busiest slot's room times the number of slots (at 512K tokens a vertical-slash head of
 * the default budget needed 433 MB in the fixed layout). Arrays, all u32:
 * <ul>
 *   <li>{@code rangeOffsets[slots + 1]}: slot s's first range; the last entry is the total reserved;</li>
 *   <li>{@code rangeCounts[slots]}: the ranges slot s holds (at most its reservation);</li>
 *   <li>{@code ranges[2 (total + 2)]}: (start, end) pairs; two spare pairs at the end, so that a kernel may read a
 *       slot's first two ranges whatever its count;</li>
 *   <li>{@code columnOffsets[slots + 1]}, {@code columnCounts[slots]}, {@code columns[total + 1]}: the same for
 *       columns.</li>
 * </ul>
 * Filled either by uploading a host index or by the estimation kernels ({@link GpuIndexBuilder}), which first count
 * what each slot needs.
 */
public final class DeviceSparseIndex implements AutoCloseable {
    private final int firstHead;
    private final int heads;
    private final int length;
    private final long rangeTotal;
    private final long columnTotal;
    private final DeviceBuffer rangeOffsets;
    private final DeviceBuffer rangeCounts;
    private final DeviceBuffer ranges;
    private final DeviceBuffer columnOffsets;
    private final DeviceBuffer columnCounts;
    private final DeviceBuffer columns;
    /** The allocation this index owns, or null for a view over a caller's buffer, which close() leaves alone. */
    private final DeviceBuffer owned;

    private DeviceSparseIndex(int firstHead, int heads, int length, long rangeTotal, long columnTotal,
                              DeviceBuffer arena, boolean owns) {
        this.firstHead = firstHead;
        this.heads = heads;
        this.length = length;
        this.rangeTotal = rangeTotal;
        this.columnTotal = columnTotal;
        long slots = slots(heads, length);
        long at = 0;
        this.rangeOffsets = arena.slice(at, 4 * (slots + 1));
        at = aligned(at + 4 * (slots + 1));
        this.rangeCounts = arena.slice(at, 4 * slots);
        at = aligned(at + 4 * slots);
        this.ranges = arena.slice(at, 8 * (rangeTotal + 2));
        at = aligned(at + 8 * (rangeTotal + 2));
        this.columnOffsets = arena.slice(at, 4 * (slots + 1));
        at = aligned(at + 4 * (slots + 1));
        this.columnCounts = arena.slice(at, 4 * slots);
        at = aligned(at + 4 * slots);
        this.columns = arena.slice(at, 4 * (columnTotal + 1));
        this.owned = owns ? arena : null;
    }

    private static long slots(int heads, int length) {
        return (long) heads * SparseIndex.queryBlocks(length);
    }

    /**
     * Bytes an index of this geometry takes with {@code rangeTotal} ranges and {@code columnTotal} columns reserved
     * over all its slots (each array 256-byte aligned).
     */
    public static long bytes(int heads, int length, long rangeTotal, long columnTotal) {
        long slots = slots(heads, length);
        return 2 * aligned(4 * (slots + 1)) + 2 * aligned(4 * slots) + aligned(8 * (rangeTotal + 2))
                + 4 * (columnTotal + 1);
    }

    /**
     * An index of this geometry laid out in {@code arena} (at least {@link #bytes} long), so that a builder can
     * reuse one allocation across layers; closing it leaves the arena alone. Its offsets are the caller's to write.
     */
    public static DeviceSparseIndex view(DeviceBuffer arena, int firstHead, int heads, int length, long rangeTotal,
                                         long columnTotal) {
        requireGeometry(firstHead, heads, length, rangeTotal, columnTotal);
        long bytes = bytes(heads, length, rangeTotal, columnTotal);
        if (arena.byteSize() < bytes) {
            throw new IllegalArgumentException("an index of " + bytes + " bytes does not fit a buffer of "
                    + arena.byteSize());
        }
        return new DeviceSparseIndex(firstHead, heads, length, rangeTotal, columnTotal, arena, false);
    }

    private static void requireGeometry(int firstHead, int heads, int length, long rangeTotal, long columnTotal) {
        if (firstHead < 0 || heads < 1 || length < 1 || rangeTotal < 0 || columnTotal < 0) {
            throw new IllegalArgumentException("sparse index needs firstHead >= 0, heads >= 1, length >= 1 and"
                    + " reservations >= 0; got " + firstHead + ", " + heads + ", " + length + ", " + rangeTotal + ", "
                    + columnTotal);
        }
        requireTotals(rangeTotal, columnTotal);
    }

    /**
     * Refuses reservations an index cannot hold (its offsets are ints), naming them: a builder checks them before it
     * allocates the index's memory, as {@link #view} does before it lays the index out.
     */
    public static void requireTotals(long rangeTotal, long columnTotal) {
        if (rangeTotal > Integer.MAX_VALUE || columnTotal > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a device sparse index holds at most " + Integer.MAX_VALUE
                    + " ranges and columns, not " + rangeTotal + " and " + columnTotal + "; build fewer heads at once");
        }
    }

    /**
     * Offsets of consecutive reservations: {@code offsets[s]} the sum of {@code needs[0..s)}, the last entry the
     * total (which must fit an int).
     */
    public static int[] offsets(int[] needs) {
        int[] offsets = new int[needs.length + 1];
        long total = 0;
        for (int s = 0; s < needs.length; s++) {
            offsets[s] = (int) total;
            total += needs[s];
            if (total > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("more than " + Integer.MAX_VALUE + " entries in one sparse index");
            }
        }
        offsets[needs.length] = (int) total;
        return offsets;
    }

    /**
     * A host index as the kernels read it, compacted: each slot's ranges ({@code [start, end)} pairs) and columns
     * packed one slot after another from its offset, with a spare entry at the end of each array.
     *
     * @param rangeOffsets  per slot, its first range in {@code ranges} (one more entry: the total)
     * @param rangeCounts   per slot, its ranges
     * @param ranges        the packed ranges
     * @param columnOffsets per slot, its first column in {@code columns} (one more entry: the total)
     * @param columnCounts  per slot, its columns
     * @param columns       the packed columns
     */
    public record Packed(int[] rangeOffsets, int[] rangeCounts, int[] ranges, int[] columnOffsets, int[] columnCounts,
                         int[] columns) {
        public static Packed of(SparseIndex index) {
            int slots = index.heads() * index.queryBlocks();
            int[] rangeOffsets = offsets(index.rangeCountArray());
            int[] columnOffsets = offsets(index.columnCountArray());
            int[] packedRanges = new int[2 * (rangeOffsets[slots] + 2)];
            int[] packedColumns = new int[columnOffsets[slots] + 1];
            for (int s = 0; s < slots; s++) {
                System.arraycopy(index.rangeArray(), s * index.maxRanges() * 2, packedRanges, 2 * rangeOffsets[s],
                        2 * index.rangeCountArray()[s]);
                System.arraycopy(index.columnArray(), s * index.maxColumns(), packedColumns, columnOffsets[s],
                        index.columnCountArray()[s]);
            }
            return new Packed(rangeOffsets, index.rangeCountArray(), packedRanges, columnOffsets,
                    index.columnCountArray(), packedColumns);
        }

        long rangeTotal() {
            return rangeOffsets[rangeCounts.length];
        }

        long columnTotal() {
            return columnOffsets[columnCounts.length];
        }
    }

    /** The host index, compacted: each slot reserves exactly what it holds ({@link Packed}). */
    public static DeviceSparseIndex upload(CudaContext context, SparseIndex index) {
        Packed packed = Packed.of(index);
        DeviceBuffer arena = context.allocate(bytes(index.heads(), index.length(), packed.rangeTotal(),
                packed.columnTotal()));
        DeviceSparseIndex device = new DeviceSparseIndex(index.firstHead(), index.heads(), index.length(),
                packed.rangeTotal(), packed.columnTotal(), arena, true);
        copy(packed.rangeOffsets(), device.rangeOffsets);
        copy(packed.rangeCounts(), device.rangeCounts);
        copy(packed.ranges(), device.ranges);
        copy(packed.columnOffsets(), device.columnOffsets);
        copy(packed.columnCounts(), device.columnCounts);
        copy(packed.columns(), device.columns);
        return device;
    }

    /** Copies the device arrays back into a host index (after the stream that filled them has finished). */
    public SparseIndex download() {
        int slots = (int) slots(heads, length);
        int[] rangeOffsets = new int[slots + 1], rangeCounts = new int[slots];
        int[] columnOffsets = new int[slots + 1], columnCounts = new int[slots];
        copyBack(this.rangeOffsets, rangeOffsets);
        copyBack(this.rangeCounts, rangeCounts);
        copyBack(this.columnOffsets, columnOffsets);
        copyBack(this.columnCounts, columnCounts);
        int[] packedRanges = new int[(int) (2 * rangeTotal)];
        int[] packedColumns = new int[(int) columnTotal];
        copyBack(ranges, packedRanges);
        copyBack(columns, packedColumns);
        int maxRanges = 1, maxColumns = 0;
        for (int s = 0; s < slots; s++) {
            maxRanges = Math.max(maxRanges, rangeCounts[s]);
            maxColumns = Math.max(maxColumns, columnCounts[s]);
        }
        SparseIndex host = new SparseIndex(firstHead, heads, length, maxRanges, maxColumns);
        for (int s = 0; s < slots; s++) {
            requireWithin(s, rangeCounts[s], rangeOffsets, rangeTotal, "ranges");
            requireWithin(s, columnCounts[s], columnOffsets, columnTotal, "columns");
            System.arraycopy(packedRanges, 2 * rangeOffsets[s], host.rangeArray(), s * maxRanges * 2,
                    2 * rangeCounts[s]);
            host.rangeCountArray()[s] = rangeCounts[s];
            System.arraycopy(packedColumns, columnOffsets[s], host.columnArray(), s * maxColumns, columnCounts[s]);
            host.columnCountArray()[s] = columnCounts[s];
        }
        return host;
    }

    private static void requireWithin(int slot, int count, int[] offsets, long total, String what) {
        if (count < 0 || offsets[slot] < 0 || (long) offsets[slot] + count > Math.min(total, offsets[slot + 1])) {
            throw new IllegalStateException("slot " + slot + " holds " + Integer.toUnsignedString(count) + " " + what
                    + " from offset " + offsets[slot] + ", past its reservation (next offset " + offsets[slot + 1]
                    + ", total " + total + ")");
        }
    }

    private static void copy(int[] from, DeviceBuffer to) {
        if (from.length == 0) return;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(4L * from.length, 16);
            MemorySegment.copy(from, 0, staging, ValueLayout.JAVA_INT, 0, from.length);
            to.slice(0, 4L * from.length).copyFromHost(staging);
        }
    }

    private static void copyBack(DeviceBuffer from, int[] to) {
        if (to.length == 0) return;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(4L * to.length, 16);
            from.slice(0, 4L * to.length).copyToHost(staging);
            MemorySegment.copy(staging, ValueLayout.JAVA_INT, 0, to, 0, to.length);
        }
    }

    private static long aligned(long bytes) {
        return (bytes + 255) / 256 * 256;
    }

    public int firstHead() { return firstHead; }
    public int heads() { return heads; }
    public int length() { return length; }
    public int queryBlocks() { return SparseIndex.queryBlocks(length); }
    public long rangeTotal() { return rangeTotal; }
    public long columnTotal() { return columnTotal; }
    public DeviceBuffer rangeOffsets() { return rangeOffsets; }
    public DeviceBuffer rangeCounts() { return rangeCounts; }
    public DeviceBuffer ranges() { return ranges; }
    public DeviceBuffer columnOffsets() { return columnOffsets; }
    public DeviceBuffer columnCounts() { return columnCounts; }
    public DeviceBuffer columns() { return columns; }

    /** Bytes this index takes on the device. */
    public long byteSize() {
        return bytes(heads, length, rangeTotal, columnTotal);
    }

    @Override
    public void close() {
        if (owned != null) owned.close();
    }
}
