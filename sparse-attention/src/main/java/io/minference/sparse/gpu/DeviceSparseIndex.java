package io.minference.sparse.gpu;

import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.sparse.SparseIndex;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A {@link SparseIndex} in device memory: the same four int32 arrays with the same flat layout, so that a kernel
 * finds slot (h, b)'s ranges at {@code ranges + 8 ((h * queryBlocks + b) * maxRanges)} and so on. Filled either by
 * uploading a host index or by the estimation kernels on the device.
 */
public final class DeviceSparseIndex implements AutoCloseable {
    private final int firstHead;
    private final int heads;
    private final int length;
    private final int maxRanges;
    private final int maxColumns;
    private final DeviceBuffer rangeCounts;
    private final DeviceBuffer ranges;
    private final DeviceBuffer columnCounts;
    private final DeviceBuffer columns;
    /** False for a view over a caller's buffer, which close() leaves alone. */
    private final boolean owned;

    private DeviceSparseIndex(int firstHead, int heads, int length, int maxRanges, int maxColumns,
                              DeviceBuffer arena) {
        this.firstHead = firstHead;
        this.heads = heads;
        this.length = length;
        this.maxRanges = maxRanges;
        this.maxColumns = maxColumns;
        long slots = (long) heads * SparseIndex.queryBlocks(length);
        long at = 0;
        this.rangeCounts = arena.slice(at, 4 * slots);
        at = aligned(at + 4 * slots);
        this.ranges = arena.slice(at, 8 * slots * maxRanges);
        at = aligned(at + 8 * slots * maxRanges);
        this.columnCounts = arena.slice(at, 4 * slots);
        at = aligned(at + 4 * slots);
        this.columns = arena.slice(at, 4 * Math.max(1, slots * maxColumns));
        this.owned = false;
    }

    private DeviceSparseIndex(CudaContext context, int firstHead, int heads, int length, int maxRanges,
                              int maxColumns) {
        this.owned = true;
        this.firstHead = firstHead;
        this.heads = heads;
        this.length = length;
        this.maxRanges = maxRanges;
        this.maxColumns = maxColumns;
        long slots = (long) heads * SparseIndex.queryBlocks(length);
        DeviceBuffer a = null, b = null, c = null;
        try {
            a = context.allocate(4 * slots);
            b = context.allocate(8 * slots * maxRanges);
            c = context.allocate(4 * slots);
            this.columns = context.allocate(4 * Math.max(1, slots * maxColumns));
        } catch (RuntimeException e) {
            for (DeviceBuffer buffer : new DeviceBuffer[] {a, b, c}) if (buffer != null) buffer.close();
            throw e;
        }
        this.rangeCounts = a;
        this.ranges = b;
        this.columnCounts = c;
    }

    /** Device arrays for an index of this geometry, contents undefined. */
    public static DeviceSparseIndex allocate(CudaContext context, int firstHead, int heads, int length,
                                             int maxRanges, int maxColumns) {
        requireGeometry(firstHead, heads, length, maxRanges, maxColumns);
        return new DeviceSparseIndex(context, firstHead, heads, length, maxRanges, maxColumns);
    }

    /**
     * An index of this geometry laid out in {@code arena} (at least {@link #bytes} long), so that a builder can
     * reuse one allocation across layers; closing it leaves the arena alone.
     */
    public static DeviceSparseIndex view(DeviceBuffer arena, int firstHead, int heads, int length, int maxRanges,
                                         int maxColumns) {
        requireGeometry(firstHead, heads, length, maxRanges, maxColumns);
        long bytes = bytes(heads, length, maxRanges, maxColumns);
        if (arena.byteSize() < bytes) {
            throw new IllegalArgumentException("an index of " + bytes + " bytes does not fit a buffer of "
                    + arena.byteSize());
        }
        return new DeviceSparseIndex(firstHead, heads, length, maxRanges, maxColumns, arena);
    }

    private static void requireGeometry(int firstHead, int heads, int length, int maxRanges, int maxColumns) {
        if (firstHead < 0 || heads < 1 || length < 1 || maxRanges < 1 || maxColumns < 0) {
            throw new IllegalArgumentException("sparse index needs firstHead >= 0, heads >= 1, length >= 1,"
                    + " maxRanges >= 1 and maxColumns >= 0; got " + firstHead + ", " + heads + ", " + length + ", "
                    + maxRanges + ", " + maxColumns);
        }
    }

    /** Bytes {@link #allocate} or {@link #view} take for this geometry (each array 256-byte aligned). */
    public static long bytes(int heads, int length, int maxRanges, int maxColumns) {
        long slots = (long) heads * SparseIndex.queryBlocks(length);
        return aligned(4 * slots) + aligned(8 * slots * maxRanges) + aligned(4 * slots)
                + 4 * Math.max(1, slots * maxColumns);
    }

    private static long aligned(long bytes) {
        return (bytes + 255) / 256 * 256;
    }

    public static DeviceSparseIndex upload(CudaContext context, SparseIndex index) {
        DeviceSparseIndex device = allocate(context, index.firstHead(), index.heads(), index.length(),
                index.maxRanges(), index.maxColumns());
        copy(index.rangeCountArray(), device.rangeCounts);
        copy(index.rangeArray(), device.ranges);
        copy(index.columnCountArray(), device.columnCounts);
        copy(index.columnArray(), device.columns);
        return device;
    }

    /** Copies the device arrays back into a host index (after the stream that filled them has finished). */
    public SparseIndex download() {
        SparseIndex host = new SparseIndex(firstHead, heads, length, maxRanges, maxColumns);
        copyBack(rangeCounts, host.rangeCountArray());
        copyBack(ranges, host.rangeArray());
        copyBack(columnCounts, host.columnCountArray());
        copyBack(columns, host.columnArray());
        return host;
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

    public int firstHead() { return firstHead; }
    public int heads() { return heads; }
    public int length() { return length; }
    public int queryBlocks() { return SparseIndex.queryBlocks(length); }
    public int maxRanges() { return maxRanges; }
    public int maxColumns() { return maxColumns; }
    public DeviceBuffer rangeCounts() { return rangeCounts; }
    public DeviceBuffer ranges() { return ranges; }
    public DeviceBuffer columnCounts() { return columnCounts; }
    public DeviceBuffer columns() { return columns; }

    @Override
    public void close() {
        if (!owned) return;
        rangeCounts.close();
        ranges.close();
        columnCounts.close();
        columns.close();
    }
}
