package io.minference.sparse.pattern;

import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.cpu.LayerInputs;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;

/**
 * The patterns known by name. {@link #builtIn()} holds dense, a-shape, vertical-slash and block-sparse;
 * {@link #standard()} adds every {@link SparsePattern} that {@link ServiceLoader} finds on the class path. Immutable:
 * {@link #with} returns a new registry.
 */
public final class PatternRegistry {
    private static final List<SparsePattern> BUILT_IN = List.of(new DensePattern(), new AShapePattern(),
            new VerticalSlashPattern(), new BlockSparsePattern());

    private final Map<String, SparsePattern> patterns;

    private PatternRegistry(Map<String, SparsePattern> patterns) {
        this.patterns = Collections.unmodifiableMap(patterns);
    }

    public static PatternRegistry of(List<SparsePattern> patterns) {
        PatternRegistry registry = new PatternRegistry(new TreeMap<>());
        for (SparsePattern p : patterns) registry = registry.with(p);
        return registry;
    }

    public static PatternRegistry builtIn() {
        return of(BUILT_IN);
    }

    /** The built-in patterns plus those {@link ServiceLoader} finds through {@code loader}. */
    public static PatternRegistry load(ClassLoader loader) {
        PatternRegistry registry = builtIn();
        for (SparsePattern p : ServiceLoader.load(SparsePattern.class, loader)) registry = registry.with(p);
        return registry;
    }

    /** The built-in patterns plus those on the class path (looked up once). */
    public static PatternRegistry standard() {
        return Standard.REGISTRY;
    }

    private static final class Standard {
        static final PatternRegistry REGISTRY = load(PatternRegistry.class.getClassLoader());
    }

    /** This registry plus {@code pattern}; a name registered twice is refused. */
    public PatternRegistry with(SparsePattern pattern) {
        String name = pattern.name();
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("sparse pattern " + pattern.getClass().getName() + " has no name");
        }
        if (patterns.containsKey(name)) {
            throw new IllegalArgumentException("sparse pattern '" + name + "' is registered twice: by "
                    + patterns.get(name).getClass().getName() + " and " + pattern.getClass().getName());
        }
        TreeMap<String, SparsePattern> copy = new TreeMap<>(patterns);
        copy.put(name, pattern);
        return new PatternRegistry(copy);
    }

    public Set<String> names() {
        return patterns.keySet();
    }

    /** The pattern called {@code name}; an unknown name is an error listing the known ones. */
    public SparsePattern get(String name) {
        SparsePattern p = patterns.get(name);
        if (p == null) {
            throw new IllegalArgumentException("unknown sparse pattern '" + name + "'; known patterns: "
                    + String.join(", ", patterns.keySet()));
        }
        return p;
    }

    /** Reads a pattern file entry: the pattern's name and its text parameters. */
    public HeadPattern parse(String name, Map<String, String> parameters) {
        return get(name).parse(parameters);
    }

    public Map<String, String> parameters(HeadPattern pattern) {
        return get(pattern.name()).parameters(resolve(pattern));
    }

    /**
     * The pattern as its implementation reads it: a {@link HeadPattern.Custom} naming a built-in pattern becomes that
     * pattern's record, others pass through.
     */
    public HeadPattern resolve(HeadPattern pattern) {
        if (pattern instanceof HeadPattern.Custom(String name, Map<String, String> parameters)) {
            return get(name).parse(parameters);
        }
        return pattern;
    }

    public IndexCapacity capacity(HeadPattern pattern, int length) {
        return get(pattern.name()).capacity(resolve(pattern), length);
    }

    public HeadIndex estimate(HeadPattern pattern, LayerInputs inputs, int head) {
        return get(pattern.name()).estimate(resolve(pattern), inputs, head);
    }

    /** Throws, naming layer and head, when the plan uses a pattern this registry does not know or cannot read. */
    public void validate(PatternPlan plan) {
        for (int l = 0; l < plan.numLayers(); l++) {
            List<HeadPattern> heads = plan.layers().get(l);
            for (int h = 0; h < heads.size(); h++) {
                try {
                    resolve(heads.get(h));
                    get(heads.get(h).name());
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("layer " + l + ", head " + h + ": " + e.getMessage(), e);
                }
            }
        }
    }
}
