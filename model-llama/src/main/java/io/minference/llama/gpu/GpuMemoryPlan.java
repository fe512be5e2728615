package io.minference.llama.gpu;

import io.minference.llama.LlamaConfig;
import io.minference.runtime.cuda.CublasLtGemm;
import java.util.Locale;

/**
 * What a model and one sequence take on the device, computed from the shapes alone so that a request that cannot
 * fit is refused before anything is allocated: bf16 weights (plus f32 norms), the bf16 KV cache, one chunk's
 * activations, the whole-prompt buffers of a layer-major (sparse) prefill, and the fixed workspaces. The figures
 * match what {@link GpuLlamaWeights}, {@link GpuKvCache} and {@link GpuActivations} allocate.
 */
public record GpuMemoryPlan(long weightBytes, long kvCacheBytes, long activationBytes, long promptBytes,
                            long workspaceBytes) {
    /** cuBLASLt's workspace, the decode split-K partials and the loaded kernel modules, rounded up. */
    static final long FIXED_WORKSPACE = CublasLtGemm.WORKSPACE_BYTES + (96L << 20);

    /**
     * @param capacity    positions the sequence may hold (prompt plus generated tokens)
     * @param chunkSize   prompt tokens per chunk
     * @param promptBytes whole-prompt buffers of a layer-major prefill, 0 for the chunked dense prefill
     */
    public static GpuMemoryPlan of(LlamaConfig c, boolean sharedClassifier, int capacity, int chunkSize,
                                   long promptBytes) {
        return new GpuMemoryPlan(weightBytes(c, sharedClassifier), kvCacheBytes(c, capacity),
                activationBytes(c, Math.min(chunkSize, capacity)), promptBytes, FIXED_WORKSPACE);
    }

    public static long weightBytes(LlamaConfig c, boolean sharedClassifier) {
        long dim = c.dim();
        long qDim = (long) c.numHeads() * c.headDim();
        long kvDim = c.kvDim();
        long hidden = GpuLlamaWeights.paddedHidden(c);
        long perLayer = 2 * ((qDim + 2 * kvDim) * dim + dim * qDim + 2 * hidden * dim + dim * hidden) + 2 * 4 * dim;
        long embedding = 2L * c.vocabSize() * dim;
        return c.numLayers() * perLayer + embedding * (sharedClassifier ? 1 : 2) + 4 * dim
                + 4L * c.headDim();
    }

    public static long kvCacheBytes(LlamaConfig c, int capacity) {
        return 2L * c.numLayers() * capacity * c.kvDim() * 2;
    }

    public static long activationBytes(LlamaConfig c, int rows) {
        long dim = c.dim();
        long qDim = (long) c.numHeads() * c.headDim();
        long hidden = GpuLlamaWeights.paddedHidden(c);
        long perRow = 4 + 4 * dim + 2 * dim + 2 * (qDim + 2L * c.kvDim()) + 2 * qDim + 2 * qDim + 4 * dim
                + 2 * 2 * hidden + 2 * hidden;
        return rows * perRow + 4L * c.vocabSize();
    }

    public long totalBytes() {
        return weightBytes + kvCacheBytes + activationBytes + promptBytes + workspaceBytes;
    }

    /**
     * Throws an IllegalArgumentException naming every part and the free memory when the plan's total exceeds
     * {@code freeBytes}; {@code what} says what was asked for (e.g. "synthetic:llama3-8b with 131072 tokens").
     */
    public void requireFits(long freeBytes, String what) {
        if (totalBytes() <= freeBytes) return;
        throw new IllegalArgumentException(String.format(Locale.ROOT,
                "%s needs %s of device memory but only %s is free: weights %s, KV cache %s, activations %s%s,"
                        + " workspaces %s", what, gib(totalBytes()), gib(freeBytes), gib(weightBytes),
                gib(kvCacheBytes), gib(activationBytes),
                promptBytes == 0 ? "" : ", whole-prompt buffers " + gib(promptBytes), gib(workspaceBytes)));
    }

    /** Like {@link #requireFits} but for a sequence on weights already resident: the weights are not counted. */
    public void requireSequenceFits(long freeBytes, String what) {
        new GpuMemoryPlan(0, kvCacheBytes, activationBytes, promptBytes, workspaceBytes).requireFits(freeBytes,
                what);
    }

    static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }
}
