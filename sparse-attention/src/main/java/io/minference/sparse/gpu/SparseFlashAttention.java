package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.flash.PrefillKernel;
import io.minference.ptx.PtxTarget;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.DevicePointer;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.LaunchShape;
import io.minference.runtime.cuda.TensorMap;
import io.minference.sparse.SparseIndex;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Flash attention on the tensor cores over the keys of a {@link DeviceSparseIndex}: {@link HopperSparseFlashPrefill}
 * on sm_90 (wgmma, TMA), {@link SparseFlashPrefill} elsewhere or when {@link PrefillKernel} says mma-sync.
 * Tensors follow the bf16 layout of {@link io.minference.kernels.flash} for a whole prompt from position 0: q and
 * out {@code [length, numHeads, d]}, k and v holding at least {@code length} rows of {@code [numKvHeads, d]}; only
 * the index's heads are written. Head dims 64 and 128. The Hopper kernel runs the
 * {@link HopperSparseFlashPrefill.Variant} it is given ({@link HopperSparseFlashPrefill.Variant#configured} reads the
 * system properties, {@link HopperSparseFlashPrefill.Variant#DEFAULT} where unset): it takes its slots in a
 * {@link LaunchOrder} (head-major by default; longest first sorts the slots on the device first by {@link SlotOrder}
 * into a list this object keeps), its consumers run a schedule ({@code overlap,lazy} by default), its producer hands
 * gathered columns over as a {@link GatherArrival} says, and with a persistent variant
 * ({@link HopperSparseFlashPrefill.Variant#persistent}; refused as a setting until it passes its GPU test) a grid of
 * a few blocks per SM walks the sorted list.
 */
public final class SparseFlashAttention implements AutoCloseable {
    private final CudaContext context;
    private final AttentionShape shape;
    private final Kernel kernel;
    /** The Hopper kernel when it serves this device, else null. */
    private final HopperSparseFlashPrefill hopper;
    /** The two passes of the longest-first order, when the Hopper kernel takes it; else null. */
    private final Kernel slotTiles;
    private final Kernel slotOrder;
    private final float scale;
    /**
     * Per slot of the largest launch so far: its tiles, then its place in the order (longest-first only). Reused by
     * every launch, which is safe on one stream: a launch's passes run after the previous prefill has read its list.
     */
    private DeviceBuffer orderScratch;

    /** Sparse attention with the kernel family the system property {@value PrefillKernel#PROPERTY} chooses. */
    public SparseFlashAttention(CudaContext context, AttentionShape shape) {
        this(context, shape, PrefillKernel.configured());
    }

    /**
     * Sparse attention with the kernel family {@code family} chooses for this device, in the variant the system
     * properties name ({@link HopperSparseFlashPrefill.Variant#configured}).
     */
    public SparseFlashAttention(CudaContext context, AttentionShape shape, PrefillKernel family) {
        this(context, shape, family, HopperSparseFlashPrefill.Variant.configured());
    }

    /**
     * Sparse attention with the kernel family {@code family} chooses for this device; the Hopper kernel makes the
     * choices of {@code variant} (the mma.sync kernel has none of them).
     */
    public SparseFlashAttention(CudaContext context, AttentionShape shape, PrefillKernel family,
                                HopperSparseFlashPrefill.Variant variant) {
        this.context = context;
        this.shape = shape;
        PtxTarget target = context.device().ptxTarget();
        this.hopper = family.usesHopper(target)
                ? HopperSparseFlashPrefill.forHeadDim(shape.headDim(), variant) : null;
        this.kernel = context.kernel(hopper != null ? hopper.emit(target)
                : SparseFlashPrefill.forHeadDim(shape.headDim()).emit(target), LaunchShape.of(1, 32));
        boolean sorted = hopper != null && variant.order() == LaunchOrder.LONGEST_FIRST;
        boolean pairs = hopper != null && HopperSparseFlashPrefill.queryBlocksPerUnit(variant) == 2;
        this.slotTiles = sorted ? context.kernel(new SlotOrder(SlotOrder.Pass.TILES, pairs).emit(target),
                LaunchShape.of(1, SlotOrder.THREADS)) : null;
        this.slotOrder = sorted ? context.kernel(new SlotOrder(SlotOrder.Pass.ORDER).emit(target),
                LaunchShape.of(1, SlotOrder.THREADS)) : null;
        this.scale = FlashAttention.log2Scale(shape.headDim());
    }

    /** True where the Hopper kernel runs. */
    public boolean usesHopper() {
        return hopper != null;
    }

    /**
     * The keys of the kernel's range copies, by which its tiles are counted ({@link SparseIndex#boxedTiles(int, int)}):
     * the Hopper kernel's range box, 64 for the mma.sync kernel.
     */
    public int rangeBox() {
        return hopper != null ? hopper.keyBoxRows() : SparseIndex.BLOCK;
    }

    /** Queues attention of queries [0, index.length()) of the index's heads. */
    public void launch(CudaStream stream, DevicePointer q, DevicePointer k, DevicePointer v, DevicePointer out,
                       DeviceSparseIndex index) {
        launch(stream, q, k, v, out, index, 0, index.heads());
    }

    /**
     * Queues attention of queries [0, index.length()) of the index's head slots {@code [firstSlot, firstSlot +
     * slots)} only (the others are left alone, e.g. for heads that fall back to dense): the launch reads the slots'
     * offsets and counts from the first slot's on (the offsets point into the whole packed arrays).
     */
    public void launch(CudaStream stream, DevicePointer q, DevicePointer k, DevicePointer v, DevicePointer out,
                       DeviceSparseIndex index, int firstSlot, int slots) {
        if (firstSlot < 0 || slots < 1 || firstSlot + slots > index.heads()) {
            throw new IllegalArgumentException("head slots [" + firstSlot + ", " + (firstSlot + slots)
                    + ") are not within the index's " + index.heads());
        }
        int firstHead = index.firstHead() + firstSlot;
        if (index.firstHead() + index.heads() > shape.numHeads()) {
            throw new IllegalArgumentException("index heads " + index.firstHead() + ".."
                    + (index.firstHead() + index.heads() - 1) + " exceed the layer's " + shape.numHeads() + " heads");
        }
        if (index.queryBlocks() > 65535) {
            throw new IllegalArgumentException("sparse attention launches one block row per 64 queries, at most"
                    + " 65535 (4M tokens); got " + index.length() + " tokens");
        }
        long slotsBefore = (long) firstSlot * index.queryBlocks();
        Object[] indexArguments = {at(index.rangeOffsets(), 4 * slotsBefore), at(index.rangeCounts(), 4 * slotsBefore),
                index.ranges(), at(index.columnOffsets(), 4 * slotsBefore), at(index.columnCounts(), 4 * slotsBefore),
                index.columns(), index.length(), firstHead, shape.numHeads(), shape.numKvHeads(), scale};
        if (hopper != null) {
            // Q, K and V through tensor maps of the whole prompt (K and V again by pointer, for the column gather)
            TensorMap qMap = TensorMap.headRows(context.driver(), q, index.length(), shape.numHeads(),
                    shape.headDim(), hopper.queryRows());
            Object[] maps = concat(new Object[] {qMap}, keyValueMaps(k, v, index.length()));
            Object[] arguments = concat(concat(maps, new Object[] {k, v, out}), indexArguments);
            // a block per query block of a head, or per pair of them (with clusters, a cluster of two blocks)
            int perUnit = HopperSparseFlashPrefill.queryBlocksPerUnit(hopper.variant());
            int perHead = (index.queryBlocks() + perUnit - 1) / perUnit;
            if (slotOrder != null) {
                arguments = concat(arguments, new Object[] {sortSlots(stream, index, slotsBefore, slots * perHead)});
            }
            if (hopper.variant().persistent()) {
                // a few blocks per SM walk the sorted list, each taking every grid-th unit in turn
                int units = slots * perHead;
                int grid = hopper.persistentGrid(units, context.device().multiprocessorCount());
                kernel.withShape(new LaunchShape(grid, 1, 1, hopper.threads(), 1, 1)).launch(stream,
                        concat(arguments, new Object[] {units, perHead}));
            } else if (hopper.variant().order() == LaunchOrder.HEAD_MAJOR) {
                // x fastest: a head's query blocks one after another, then the next head's
                kernel.withShape(new LaunchShape(perHead, slots, 1, hopper.threads(), 1, 1)).launch(stream,
                        arguments);
            } else {
                // the cluster shape is in the PTX (.reqnctapercluster): a plain launch with an even grid y
                kernel.withShape(new LaunchShape(slots, hopper.gridBlocksPerHead(perHead), 1, hopper.threads(), 1,
                        1)).launch(stream, arguments);
            }
        } else {
            kernel.withShape(new LaunchShape(slots, index.queryBlocks(), 1, SparseFlashPrefill.THREADS, 1, 1))
                    .launch(stream, concat(new Object[] {q, k, v, out}, indexArguments));
        }
    }

    /**
     * The Hopper kernel's K and V maps of the prompt's {@code length} rows: boxes of its range box, then, where that
     * is below 64 rows, boxes of whole 64-row tiles ({@link HopperSparseFlashPrefill#wholeTileMaps}).
     */
    private Object[] keyValueMaps(DevicePointer k, DevicePointer v, int length) {
        List<Object> maps = new ArrayList<>();
        List<Integer> boxes = hopper.wholeTileMaps() ? List.of(hopper.keyBoxRows(), SparseIndex.BLOCK)
                : List.of(hopper.keyBoxRows());
        for (int box : boxes) {
            for (DevicePointer rows : List.of(k, v)) {
                maps.add(TensorMap.headRows(context.driver(), rows, length, shape.numKvHeads(), shape.headDim(), box));
            }
        }
        return maps.toArray();
    }

    /**
     * Queues the two {@link SlotOrder} passes over the launch's {@code count} slots (from slot {@code slotsBefore} of
     * the index on; with pairs, {@code count} pairs of them) and returns the list they leave: the slot (or pair) each
     * block takes, longest first (package-private for its test). Only where this object takes the longest-first
     * order.
     */
    DeviceBuffer sortSlots(CudaStream stream, DeviceSparseIndex index, long slotsBefore, int count) {
        long bytes = 8L * count;
        if (orderScratch == null || orderScratch.byteSize() < bytes) {
            // the previous launch may still read the old list: let it finish before the list is freed
            if (orderScratch != null) {
                stream.synchronize();
                orderScratch.close();
            }
            orderScratch = context.allocate(bytes);
        }
        DeviceBuffer tiles = orderScratch.slice(0, 4L * count);
        DeviceBuffer order = orderScratch.slice(4L * count, 4L * count);
        boolean pairs = HopperSparseFlashPrefill.queryBlocksPerUnit(hopper.variant()) == 2;
        Object[] tileArguments = {at(index.rangeOffsets(), 4 * slotsBefore), at(index.rangeCounts(), 4 * slotsBefore),
                index.ranges(), at(index.columnCounts(), 4 * slotsBefore), tiles, count};
        slotTiles.withShape(LaunchShape.of((count + SlotOrder.THREADS - 1) / SlotOrder.THREADS, SlotOrder.THREADS))
                .launch(stream, pairs ? concat(tileArguments, new Object[] {index.queryBlocks()}) : tileArguments);
        slotOrder.withShape(LaunchShape.of(1, SlotOrder.THREADS)).launch(stream, tiles, order, count,
                SlotOrder.tilesPerBucket(index.queryBlocks() * HopperSparseFlashPrefill.queryBlocksPerUnit(
                        hopper.variant())));
        return order;
    }

    private static Object[] concat(Object[] first, Object[] second) {
        Object[] all = Arrays.copyOf(first, first.length + second.length);
        System.arraycopy(second, 0, all, first.length, second.length);
        return all;
    }

    private static DevicePointer at(DevicePointer base, long offset) {
        return offset == 0 ? base : () -> base.address() + offset;
    }

    @Override
    public void close() {
        if (orderScratch != null) {
            orderScratch.close();
            orderScratch = null;
        }
    }
}
