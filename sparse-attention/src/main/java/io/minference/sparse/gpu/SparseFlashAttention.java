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
        if (index.firstHead() + index.heads() > shape.numHeads()) {
            throw new IllegalArgumentException("index heads " + index.firstHead() + ".."
                    + (index.firstHead() + index.heads() - 1) + " exceed the layer's " + shape.numHeads() + " heads");
        }
        if (index.queryBlocks() > 65535) {
            throw new IllegalArgumentException("sparse attention launches one block row per 64 queries, at most"
                    + " 65535 (4M tokens); got " + index.length() + " tokens");
        }
        kernel.withShape(new LaunchShape(index.heads(), index.queryBlocks(), 1, SparseFlashPrefill.THREADS, 1, 1))
                .launch(stream, q, k, v, out, index.rangeCounts(), index.ranges(), index.columnCounts(),
                        index.columns(), index.length(), index.firstHead(), shape.numHeads(), shape.numKvHeads(),
                        index.maxRanges(), index.maxColumns(), scale);
    }

    @Override
    public void close() {
    }
}
