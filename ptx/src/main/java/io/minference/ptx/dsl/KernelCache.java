package io.minference.ptx.dsl;

import io.minference.ptx.KernelSource;
import io.minference.ptx.PtxTarget;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The emitted PTX of every (kernel specialization, target) pair, keyed by the definition's equality. */
public final class KernelCache {
    private static final KernelCache SHARED = new KernelCache();

    private record Key(KernelDefinition definition, PtxTarget target) {
    }

    private final Map<Key, KernelSource> sources = new ConcurrentHashMap<>();

    /** The process-wide cache {@link KernelDefinition#emit} uses. */
    public static KernelCache shared() {
        return SHARED;
    }

    /** The cached source, or a freshly built one. */
    public KernelSource get(KernelDefinition definition, PtxTarget target) {
        Key key = new Key(definition, target);
        KernelSource cached = sources.get(key);
        if (cached != null) {
            return cached;
        }
        if (!definition.supports(target)) {
            throw new IllegalArgumentException("kernel '" + definition.entryName() + "' needs "
                    + definition.minimumTarget().arch() + " or newer; it cannot be emitted for " + target.arch());
        }
        KernelBuilder builder = new KernelBuilder(definition.entryName(), target);
        definition.define(builder);
        KernelSource built = builder.build();
        KernelSource raced = sources.putIfAbsent(key, built);
        return raced != null ? raced : built;
    }

    /** How many sources are cached. */
    public int size() {
        return sources.size();
    }
}
