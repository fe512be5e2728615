package io.minference.llama.session;

import io.minference.config.AttentionConfig;
import io.minference.config.KvCacheType;
import io.minference.config.KvOffload;
import io.minference.llama.LlamaConfig;
import io.minference.llama.generate.SparsePrefill;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * How a session runs attention: how it prefills prompts (dense, or a {@link SparsePrefill}: a mode's per-head
 * patterns, applied to prompts of at least its threshold), and the format of the KV cache its sequences keep for
 * decode ({@link KvCacheType#BF16} unless {@link #withKvCache} says otherwise). Decode steps are always dense. The
 * cache format is fixed when a sequence is made: a sequence's later prefills must name the same one. On a GPU the
 * cache can also live in pinned host memory ({@link #withKvOffload}), which the CPU backend refuses.
 */
public final class AttentionPlan {
    private static final AttentionPlan DENSE = new AttentionPlan(null, KvCacheType.BF16, KvOffload.NONE);

    private final SparsePrefill sparse;
    private final KvCacheType kvCache;
    private final KvOffload kvOffload;

    private AttentionPlan(SparsePrefill sparse, KvCacheType kvCache, KvOffload kvOffload) {
        this.sparse = sparse;
        this.kvCache = kvCache;
        this.kvOffload = kvOffload;
    }

    public static AttentionPlan dense() {
        return DENSE;
    }

    public static AttentionPlan sparse(SparsePrefill sparse) {
        return new AttentionPlan(Objects.requireNonNull(sparse, "sparse"), KvCacheType.BF16, KvOffload.NONE);
    }

    /**
     * The plan that {@code attention} asks for (see {@link SparsePrefill#of}), its pattern file read and checked
     * against the model's layers and heads.
     *
     * @param customPatterns names of SPI patterns a YAML pattern file may use besides the built-in ones
     */
    public static AttentionPlan of(AttentionConfig attention, LlamaConfig model, Set<String> customPatterns) {
        SparsePrefill sparse = SparsePrefill.of(attention, model, customPatterns);
        return sparse == null ? DENSE : new AttentionPlan(sparse, KvCacheType.BF16, KvOffload.NONE);
    }

    /**
     * This plan with sequences keeping their KV cache as {@code type}: with {@link KvCacheType#INT8} or
     * {@link KvCacheType#FP8} only decode reads the 8-bit codes (int8 meets issue 13's accuracy bound, fp8's e4m3
     * does not); a prompt's own attention sees full precision, and on a GPU every prompt then runs layer-major.
     */
    public AttentionPlan withKvCache(KvCacheType type) {
        Objects.requireNonNull(type, "type");
        return type == kvCache ? this : new AttentionPlan(sparse, type, kvOffload);
    }

    /**
     * This plan with sequences keeping their KV cache where {@code offload} says: with {@link KvOffload#HOST} every
     * layer's in pinned host memory and two on the device (GPU only; every prompt then runs layer-major and decode
     * steps eagerly).
     */
    public AttentionPlan withKvOffload(KvOffload offload) {
        Objects.requireNonNull(offload, "offload");
        return offload == kvOffload ? this : new AttentionPlan(sparse, kvCache, offload);
    }

    /** Where sequences made for this plan keep their KV cache. */
    public KvOffload kvOffload() {
        return kvOffload;
    }

    /** The format of the KV cache that sequences made for this plan keep. */
    public KvCacheType kvCache() {
        return kvCache;
    }

    /** The sparse prefill, empty for dense. */
    public Optional<SparsePrefill> sparsePrefill() {
        return Optional.ofNullable(sparse);
    }

    /** The mode's name: {@link LlamaSession#DENSE}, or the sparse mode's (minference, a-shape, ...). */
    public String mode() {
        return sparse == null ? LlamaSession.DENSE : sparse.mode();
    }

    /** Whether a prompt of {@code length} tokens is prefilled sparsely. */
    public boolean sparseFor(int length) {
        return sparse != null && sparse.appliesTo(length);
    }

    /** The attention a prompt of {@code length} tokens gets: {@link LlamaSession#DENSE} or the sparse mode. */
    public String pathFor(int length) {
        return sparseFor(length) ? sparse.mode() : LlamaSession.DENSE;
    }

    /** This plan with every prompt sparse (threshold 0), for timing a mode at lengths below its threshold. */
    public AttentionPlan alwaysSparse() {
        return sparse == null ? this : new AttentionPlan(sparse.withThreshold(0), kvCache, kvOffload);
    }

    @Override
    public String toString() {
        String kv = (kvCache == KvCacheType.BF16 ? "" : ", KV cache " + kvCache.label())
                + (kvOffload == KvOffload.NONE ? "" : ", KV offload " + kvOffload.label());
        return (sparse == null ? "dense" : sparse.mode() + " (" + sparse.source() + ", from " + sparse.threshold()
                + " tokens)") + kv;
    }
}
