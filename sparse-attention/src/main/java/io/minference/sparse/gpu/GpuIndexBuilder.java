package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DevicePointer;
import io.minference.sparse.HeadPattern;
import java.util.List;

/**
 * Estimates and builds a layer's sparse index on the device, all heads of a step in one launch (owner: the
 * sparse-estimation helper). Follows docs/sparse-attention.md exactly, so that its index equals the CPU reference's.
 */
public final class GpuIndexBuilder implements AutoCloseable {
    public GpuIndexBuilder(CudaContext context, AttentionShape shape) {
        throw new UnsupportedOperationException("stub: sparse-estimation helper");
    }

    /**
     * Queues estimation and index building for heads {@code [firstHead, firstHead + heads)} of a prompt of
     * {@code length} tokens; {@code patterns} holds the pattern of every head of the layer. q and k are bf16
     * ({@code [length, numHeads, d]}, {@code [≥length, numKvHeads, d]}). The caller closes the returned index.
     */
    public DeviceSparseIndex build(CudaStream stream, List<HeadPattern> patterns, int firstHead, int heads,
                                   DevicePointer q, DevicePointer k, int length) {
        throw new UnsupportedOperationException("stub: sparse-estimation helper");
    }

    @Override
    public void close() {
    }
}
