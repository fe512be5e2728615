package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DevicePointer;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.LaunchShape;

/**
 * Flash attention on the tensor cores over the keys of a {@link DeviceSparseIndex} ({@link SparseFlashPrefill}).
 * Tensors follow the bf16 layout of {@link io.minference.kernels.flash} for a whole prompt from position 0: q and
 * out {@code [length, numHeads, d]}, k and v holding at least {@code length} rows of {@code [numKvHeads, d]}; only
 * the index's heads are written. Head dims 64 and 128.
 */
public final class SparseFlashAttention implements AutoCloseable {
    private final AttentionShape shape;
    private final SparseFlashPrefill prefill;
    private final Kernel kernel;
    private final float scale;

    public SparseFlashAttention(CudaContext context, AttentionShape shape) {
        this.shape = shape;
        this.prefill = SparseFlashPrefill.forHeadDim(shape.headDim());
        this.kernel = context.kernel(prefill.emit(context.device().ptxTarget()), LaunchShape.of(1, 32));
        this.scale = FlashAttention.log2Scale(shape.headDim());
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
        kernel.withShape(new LaunchShape(slots, index.queryBlocks(), 1, SparseFlashPrefill.THREADS, 1, 1))
                .launch(stream, q, k, v, out, at(index.rangeOffsets(), 4 * slotsBefore),
                        at(index.rangeCounts(), 4 * slotsBefore), index.ranges(),
                        at(index.columnOffsets(), 4 * slotsBefore), at(index.columnCounts(), 4 * slotsBefore),
                        index.columns(), index.length(), firstHead, shape.numHeads(), shape.numKvHeads(), scale);
    }

    private static DevicePointer at(DevicePointer base, long offset) {
        return offset == 0 ? base : () -> base.address() + offset;
    }

    @Override
    public void close() {
    }
}
