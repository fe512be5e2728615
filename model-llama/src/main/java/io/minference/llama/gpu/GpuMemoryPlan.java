package io.minference.llama.gpu;

import io.minference.config.KvCacheType;
import io.minference.config.KvOffload;
import io.minference.llama.LlamaConfig;
import io.minference.runtime.cuda.CublasLtGemm;
import java.util.Locale;

/**
 * What a model and one sequence take on the device, computed from the shapes alone so that a request that cannot
 * fit is refused before anything is allocated: bf16 weights (plus f32 norms), the KV cache (bf16, or 8-bit (fp8 or
 * int8: the same bytes) with its scales and bf16 tails), one chunk's activations, the whole-prompt buffers of a
 * layer-major prefill ({@link PromptBuffers}, each part named), and the fixed workspaces. The figures match what
 * {@link GpuLlamaWeights}, {@link GpuKvCache}, {@link GpuActivations} and {@link GpuLlamaForward} allocate. With the KV
 * cache offloaded ({@link KvOffload#HOST}) the device holds two layers' cache (the slots of
 * {@link OffloadedGpuKvCache}) and {@code hostKvBytes} of pinned host memory hold every layer's.
 */
public record GpuMemoryPlan(long weightBytes, long kvCacheBytes, long activationBytes, PromptBuffers prompt,
                            long workspaceBytes, long hostKvBytes) {
    /** cuBLASLt's workspace, the decode split-K partials and the loaded kernel modules, rounded up. */
    static final long FIXED_WORKSPACE = CublasLtGemm.WORKSPACE_BYTES + (96L << 20);

    /**
     * What a layer-major prefill of a prompt holds while it runs, beyond the cache: the f32 residual stream of every
     * position (the hidden state), the bf16 queries and attention outputs of one layer, one layer's bf16 K and V
     * when the cache is 8-bit (the cache keeps only codes), and the sparse prefill's estimation scratch and index
     * batch. Everything else (QKV projection, MLP intermediate, logits) is computed in chunks of tokens and counted
     * in the activations.
     */
    public record PromptBuffers(long hidden, long queries, long attended, long layerKv, long sparseScratch) {
        /** No layer-major prefill. */
        public static final PromptBuffers NONE = new PromptBuffers(0, 0, 0, 0, 0);
        /**
         * The sparse prefill's device index batch budget ({@code GpuSparsePrefill.INDEX_BUDGET_BYTES}, 2 GiB),
         * which bounds the index of one batch of heads.
         */
        static final long SPARSE_INDEX_BUDGET = 2L << 30;

        /** The buffers of a prefill of {@code length} tokens. */
        public static PromptBuffers of(LlamaConfig c, int length, KvCacheType kvCache, boolean sparse) {
            long qDim = (long) c.numHeads() * c.headDim();
            long layerKv = kvCache.coded() ? 2L * 2 * length * c.kvDim() : 0;
            return new PromptBuffers(4L * length * c.dim(), 2L * length * qDim, 2L * length * qDim, layerKv,
                    sparse ? sparseScratch(c, length) : 0);
        }

        /** A total given by a caller, not broken down (counted as hidden state). */
        static PromptBuffers lump(long bytes) {
            return new PromptBuffers(bytes, 0, 0, 0, 0);
        }

        /**
         * An upper bound of GpuIndexBuilder's scratch for a batch of every head plus the index budget: 8-byte
         * scores per head and key, vertical-slash tile statistics (8 bytes per head, 256-key tile and 64 rows), the
         * kept diagonals' runs (8 bytes per head and 64 positions) and bitmap (a bit per head and position), and
         * block-sparse pooled queries and keys (f32, one row per 64 positions).
         */
        static long sparseScratch(LlamaConfig c, int length) {
            long heads = c.numHeads();
            long tiles = (length + 255) / 256;
            long pooled = 4L * ((length + 63) / 64) * c.headDim() * (heads + c.numKvHeads());
            long runs = 8L * heads * (length / 64 + 2) + 4L * heads * ((length + 31) / 32);
            return SPARSE_INDEX_BUDGET + 8L * heads * length + 8L * heads * tiles * 64 + runs + pooled;
        }

        public long total() {
            return hidden + queries + attended + layerKv + sparseScratch;
        }

        String describe() {
            return String.format(Locale.ROOT, "hidden state %s, queries %s, attention output %s%s%s", gib(hidden),
                    gib(queries), gib(attended), layerKv == 0 ? "" : ", one layer's bf16 K/V " + gib(layerKv),
                    sparseScratch == 0 ? "" : ", sparse estimation and index " + gib(sparseScratch));
        }
    }

    /**
     * @param capacity    positions the sequence may hold (prompt plus generated tokens)
     * @param chunkSize   prompt tokens per chunk
     * @param promptBytes whole-prompt buffers of a layer-major prefill, 0 for the chunked dense prefill
     */
    public static GpuMemoryPlan of(LlamaConfig c, boolean sharedClassifier, int capacity, int chunkSize,
                                   long promptBytes) {
        return new GpuMemoryPlan(weightBytes(c, sharedClassifier), kvCacheBytes(c, capacity),
                activationBytes(c, Math.min(chunkSize, capacity)), PromptBuffers.lump(promptBytes), FIXED_WORKSPACE,
                0);
    }

    /**
     * The plan of a prompt of {@code promptLength} tokens followed by {@code decodeTokens} decode steps, with a
     * given cache format: layer-major when the cache is 8-bit or the prefill sparse, chunked otherwise.
     */
    public static GpuMemoryPlan of(LlamaConfig c, boolean sharedClassifier, int promptLength, int decodeTokens,
                                   int chunkSize, KvCacheType kvCache, boolean sparse) {
        return of(c, sharedClassifier, promptLength, decodeTokens, chunkSize, kvCache, KvOffload.NONE, sparse);
    }

    /**
     * As above, with the KV cache offloaded or not: offloaded, the device holds two layers' cache (which also take
     * a bf16 prompt's K/V, so the prefill is layer-major without a separate layer buffer) and the host every layer's.
     */
    public static GpuMemoryPlan of(LlamaConfig c, boolean sharedClassifier, int promptLength, int decodeTokens,
                                   int chunkSize, KvCacheType kvCache, KvOffload offload, boolean sparse) {
        int capacity = promptLength + decodeTokens;
        boolean offloaded = offload == KvOffload.HOST;
        boolean layerMajor = sparse || kvCache.coded() || offloaded;
        long layer = GpuKvCache.layerBytes(c, capacity, kvCache);
        return new GpuMemoryPlan(weightBytes(c, sharedClassifier),
                (offloaded ? Math.min(2, c.numLayers()) : c.numLayers()) * layer,
                activationBytes(c, Math.min(chunkSize, capacity)),
                layerMajor ? PromptBuffers.of(c, promptLength, kvCache, sparse) : PromptBuffers.NONE,
                FIXED_WORKSPACE, offloaded ? c.numLayers() * layer : 0);
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

    /** The bf16 cache's bytes. */
    public static long kvCacheBytes(LlamaConfig c, int capacity) {
        return kvCacheBytes(c, capacity, KvCacheType.BF16);
    }

    /**
     * The bytes of a cache of {@code positions} positions of every layer in {@code type}'s format (an 8-bit cache's
     * codes, scales and bf16 tail): what a decode step at that length reads.
     */
    public static long kvCacheBytes(LlamaConfig c, int positions, KvCacheType type) {
        return GpuKvCache.bytes(c, positions, type);
    }

    public static long activationBytes(LlamaConfig c, int rows) {
        long dim = c.dim();
        long qDim = (long) c.numHeads() * c.headDim();
        long hidden = GpuLlamaWeights.paddedHidden(c);
        long perRow = 4 + 4 * dim + 2 * dim + 2 * (qDim + 2L * c.kvDim()) + 2 * qDim + 2 * qDim
                + 2 * 2 * hidden + 2 * hidden;
        return rows * perRow + 4L * c.vocabSize();
    }

    /** The whole-prompt buffers' total. */
    public long promptBytes() {
        return prompt.total();
    }

    public long totalBytes() {
        return weightBytes + kvCacheBytes + activationBytes + promptBytes() + workspaceBytes;
    }

    /** Whether the KV cache lives in pinned host memory, two layers at a time on the device. */
    public boolean offloaded() {
        return hostKvBytes > 0;
    }

    /**
     * Every part, for a log line or an error: "weights 14.96 GiB, KV cache ..., total ...", and with offload the
     * host's share after the device total.
     */
    public String describe() {
        return String.format(Locale.ROOT, "weights %s, KV cache %s%s, activations %s%s, workspaces %s; total %s%s",
                gib(weightBytes), gib(kvCacheBytes), offloaded() ? " (two layers' slots)" : "",
                gib(activationBytes), prompt.total() == 0 ? "" : ", whole-prompt buffers " + gib(prompt.total())
                        + " (" + prompt.describe() + ")", gib(workspaceBytes), gib(totalBytes()),
                offloaded() ? "; pinned host memory: every layer's KV cache " + gib(hostKvBytes) : "");
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
                gib(kvCacheBytes) + (offloaded() ? " (two layers' slots, the rest offloaded to the host)" : ""),
                gib(activationBytes),
                prompt.total() == 0 ? "" : ", whole-prompt buffers " + gib(prompt.total()), gib(workspaceBytes)));
    }

    /** Like {@link #requireFits} but for a sequence on weights already resident: the weights are not counted. */
    public void requireSequenceFits(long freeBytes, String what) {
        new GpuMemoryPlan(0, kvCacheBytes, activationBytes, prompt, workspaceBytes, hostKvBytes)
                .requireFits(freeBytes, what);
    }

    /**
     * Throws an IllegalArgumentException when the offloaded KV cache does not fit {@code availableBytes} of host
     * memory (what the kernel reports available: pinned memory cannot be swapped out); nothing without offload.
     */
    public void requireHostFits(long availableBytes, String what) {
        if (hostKvBytes <= availableBytes) return;
        throw new IllegalArgumentException(String.format(Locale.ROOT,
                "%s with --kv-offload host needs %s of pinned host memory for the KV cache but only %s is"
                        + " available; ask for fewer tokens (an 8-bit cache, --kv-cache int8 or fp8, takes about"
                        + " half a bf16 one's bytes)", what, gib(hostKvBytes), gib(availableBytes)));
    }

    static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }
}
