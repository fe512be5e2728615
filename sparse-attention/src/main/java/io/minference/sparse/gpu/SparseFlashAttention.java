package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.flash.PrefillKernel;
import io.minference.ptx.PtxTarget;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DevicePointer;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.LaunchShape;
import io.minference.runtime.cuda.TensorMap;

/**
 * Flash attention on the tensor cores over the keys of a {@link DeviceSparseIndex}: {@link HopperSparseFlashPrefill}
 * on sm_90 (wgmma, TMA), {@link SparseFlashPrefill} elsewhere or when {@link PrefillKernel} says mma-sync.
 * Tensors follow the bf16 layout of {@link io.minference.kernels.flash} for a whole prompt from position 0: q and
 * out {@code [length, numHeads, d]}, k and v holding at least {@code length} rows of {@code [numKvHeads, d]}; only
 * the index's heads are written. Head dims 64 and 128.
 */
public final class SparseFlashAttention implements AutoCloseable {
    private final CudaContext context;
    private final AttentionShape shape;
    private final Kernel kernel;
    /** The Hopper kernel when it serves this device, else null. */
    private final HopperSparseFlashPrefill hopper;
    private final float scale;

    /** Sparse attention with the kernel family the system property {@value PrefillKernel#PROPERTY} chooses. */
    public SparseFlashAttention(CudaContext context, AttentionShape shape) {
        this(context, shape, PrefillKernel.configured());
    }

    /** Sparse attention with the kernel family {@code family} chooses for this device. */
    public SparseFlashAttention(CudaContext context, AttentionShape shape, PrefillKernel family) {
        this.context = context;
        this.shape = shape;
        PtxTarget target = context.device().ptxTarget();
        this.hopper = family.usesHopper(target) ? HopperSparseFlashPrefill.forHeadDim(shape.headDim()) : null;
        this.kernel = context.kernel(hopper != null ? hopper.emit(target)
                : SparseFlashPrefill.forHeadDim(shape.headDim()).emit(target), LaunchShape.of(1, 32));
        this.scale = FlashAttention.log2Scale(shape.headDim());
    }

    /** True where the Hopper kernel runs. */
    public boolean usesHopper() {
        return hopper != null;
    }

    /** Queues attention of queries [0, index.length()) of the index's heads. */
    public void launch(CudaStream stream, DevicePointer q, DevicePointer k, DevicePointer v, DevicePointer out,
                       DeviceSparseIndex index) {
        if (index.firstHead() + index.heads() > shape.numHeads()) {
            throw new IllegalArgumentException("index heads " + index.firstHead() + ".."
                    + (index.firstHead() + index.heads() - 1) + " exceed the layer's " + shape.numHeads() + " heads");
        }
        if (index.queryBlocks() > 65535) {
            throw new IllegalArgumentException("sparse attention launches one block row per 64 queries, at most"
                    + " 65535 (4M tokens); got " + index.length() + " tokens");
        }
        if (hopper != null) {
            launchHopper(stream, q, k, v, out, index.rangeCounts(), index.ranges(), index.columnCounts(),
                    index.columns(), index, index.firstHead(), index.heads());
            return;
        }
        kernel.withShape(new LaunchShape(index.heads(), index.queryBlocks(), 1, SparseFlashPrefill.THREADS, 1, 1))
                .launch(stream, q, k, v, out, index.rangeCounts(), index.ranges(), index.columnCounts(),
                        index.columns(), index.length(), index.firstHead(), shape.numHeads(), shape.numKvHeads(),
                        index.maxRanges(), index.maxColumns(), scale);
    }

    /**
     * The Hopper launch over {@code slots} head slots from {@code firstHead}, the index arrays already moved to the
     * first slot's entries; Q, K and V are read through tensor maps of the whole prompt (and K, V again by pointer
     * for the column gather).
     */
    private void launchHopper(CudaStream stream, DevicePointer q, DevicePointer k, DevicePointer v, DevicePointer out,
                              DevicePointer rangeCounts, DevicePointer ranges, DevicePointer columnCounts,
                              DevicePointer columns, DeviceSparseIndex index, int firstHead, int slots) {
        var driver = context.driver();
        int d = shape.headDim();
        int length = index.length();
        int box = HopperSparseFlashPrefill.BLOCK;
        TensorMap qMap = TensorMap.headRows(driver, q, length, shape.numHeads(), d, box);
        TensorMap kMap = TensorMap.headRows(driver, k, length, shape.numKvHeads(), d, box);
        TensorMap vMap = TensorMap.headRows(driver, v, length, shape.numKvHeads(), d, box);
        kernel.withShape(new LaunchShape(slots, index.queryBlocks(), 1, hopper.threads(), 1, 1))
                .launch(stream, qMap, kMap, vMap, k, v, out, rangeCounts, ranges, columnCounts, columns, length,
                        firstHead, shape.numHeads(), shape.numKvHeads(), index.maxRanges(), index.maxColumns(), scale);
    }

    @Override
    public void close() {
    }
}
