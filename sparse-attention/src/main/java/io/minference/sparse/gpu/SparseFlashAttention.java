package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DevicePointer;

/**
 * Flash attention on the tensor cores over the keys of a {@link DeviceSparseIndex} (owner: the sparse-kernel
 * helper). Tensors follow the bf16 layout of {@link io.minference.kernels.flash}; only the index's heads are
 * written.
 */
public final class SparseFlashAttention implements AutoCloseable {
    public SparseFlashAttention(CudaContext context, AttentionShape shape) {
        throw new UnsupportedOperationException("stub: sparse-kernel helper");
    }

    /** Queues attention of queries [0, index.length()) of the index's heads. */
    public void launch(CudaStream stream, DevicePointer q, DevicePointer k, DevicePointer v, DevicePointer out,
                       DeviceSparseIndex index) {
        throw new UnsupportedOperationException("stub: sparse-kernel helper");
    }

    @Override
    public void close() {
    }
}
