package io.minference.llama.forward;

import io.minference.llama.LlamaConfig;
import io.minference.runtime.HostMemory;
import java.util.Locale;

/**
 * What one CPU sequence allocates beyond the weights, from the shapes alone, so that a run that cannot fit is refused
 * with the sizes named before anything is allocated: the F32 KV cache ({@link KvCache}), one block's activations
 * ({@link Activations}), and the products' per-thread scratch (packed tokens, accumulators, decoded weight blocks).
 * Weights mapped from a model file are not counted: they are page cache, which the kernel can drop and read again.
 */
public record HostMemoryPlan(long kvCacheBytes, long activationBytes, long scratchBytes) {

    /**
     * @param capacity positions the sequence may hold
     * @param rows     tokens per block
     * @param threads  threads of the CPU backend
     */
    public static HostMemoryPlan of(LlamaConfig c, int capacity, int rows, int threads) {
        long dim = c.dim();
        long qDim = (long) c.numHeads() * c.headDim();
        long widest = Math.max(Math.max(dim, qDim), c.hiddenDim());
        long kv = 2L * c.numLayers() * capacity * c.kvDim() * 4;
        long activations = 4L * rows * (3 * dim + 2 * qDim + 2L * c.hiddenDim()) + 4L * c.vocabSize();
        // per thread: the packed tokens (rounded up to a panel of 32) and the accumulators and decoded weights of
        // an item of at most 96 rows
        long packed = 4L * ((rows + 31) / 32 * 32) * widest;
        long scratch = (threads + 1L) * (packed + 4L * 96 * (((rows + 31) / 32 * 32) + 256) + 4L * 4 * widest);
        return new HostMemoryPlan(kv, activations, scratch);
    }

    public long totalBytes() {
        return kvCacheBytes + activationBytes + scratchBytes;
    }

    /** {@link #requireFits(long, String)} against {@link HostMemory#availableBytes()}, where it is known. */
    public void requireFits(String what) {
        HostMemory.availableBytes().ifPresent(available -> requireFits(available, what));
    }

    /**
     * Throws an IllegalArgumentException naming every part and the available memory when the total exceeds
     * {@code availableBytes}; {@code what} says what was asked for (e.g. "a sequence of 131072 positions").
     */
    public void requireFits(long availableBytes, String what) {
        if (totalBytes() <= availableBytes) return;
        throw new IllegalArgumentException(String.format(Locale.ROOT,
                "%s needs %s of host memory but only %s is available: KV cache %s, activations %s, scratch %s;"
                        + " ask for fewer tokens", what, gib(totalBytes()), gib(availableBytes), gib(kvCacheBytes),
                gib(activationBytes), gib(scratchBytes)));
    }

    private static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }
}
