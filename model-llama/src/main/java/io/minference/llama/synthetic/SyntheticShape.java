package io.minference.llama.synthetic;

import io.minference.config.SafeYaml;
import io.minference.llama.LlamaConfig;
import io.minference.llama.load.ModelFormatException;
import io.minference.llama.load.ModelLoadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The shape of a synthetic model: named ({@code tiny}, {@code llama3-1b}, {@code llama3-8b}) or read from a YAML
 * file with the keys
 * <pre>
 *   dim: 512               # required: embedding length
 *   hidden_dim: 1408       # required: feed-forward length
 *   layers: 4              # required
 *   heads: 8               # required
 *   kv_heads: 2            # default: heads
 *   vocab_size: 258        # default: 258, the byte tokenizer's
 *   context_length: 32768  # required
 *   rope_base: 500000      # default: 500000
 *   rms_eps: 1.0e-5        # default: 1e-5
 *   shared_classifier: true  # default: true
 *   seed: 0                # default: 0
 * </pre>
 *
 * @param name             the shape's name, or the YAML file's path
 * @param sharedClassifier whether the classifier is the token embedding
 * @param seed             the generator's seed
 */
public record SyntheticShape(String name, LlamaConfig config, boolean sharedClassifier, long seed) {
    private static final float ROPE_BASE = 500000f;
    private static final float RMS_EPS = 1e-5f;
    private static final int BYTE_VOCABULARY = 258;
    private static final long MAX_FILE_BYTES = 1 << 20;
    // Bounds above every real LLaMA (LLaMA-3 405B: dim 16384, hidden 53248, 126 layers, 128 heads, vocabulary
    // 128256), checked before anything is allocated.
    private static final int MAX_DIM = 16384;
    private static final int MAX_HIDDEN_DIM = 65536;
    private static final int MAX_LAYERS = 256;
    private static final int MAX_HEADS = 256;
    private static final int MAX_VOCABULARY = 1 << 20;
    private static final int MAX_CONTEXT = 1 << 24;
    private static final long MAX_PARAMETERS = 72_000_000_000L;
    private static final List<String> KEYS = List.of("dim", "hidden_dim", "layers", "heads", "kv_heads",
            "vocab_size", "context_length", "rope_base", "rms_eps", "shared_classifier", "seed");

    /** Names of the built-in shapes. */
    public static final List<String> NAMES = List.of("tiny", "llama3-1b", "llama3-8b");

    /** A built-in shape with seed 0. */
    public static Optional<SyntheticShape> named(String name) {
        return Optional.ofNullable(switch (name) {
            case "tiny" -> new SyntheticShape(name,
                    new LlamaConfig(512, 1408, 4, 8, 2, BYTE_VOCABULARY, 32768, ROPE_BASE, RMS_EPS), false, 0);
            case "llama3-1b" -> new SyntheticShape(name,
                    new LlamaConfig(2048, 8192, 16, 32, 8, 128256, 131072, ROPE_BASE, RMS_EPS), true, 0);
            case "llama3-8b" -> new SyntheticShape(name,
                    new LlamaConfig(4096, 14336, 32, 32, 8, 128256, 1048576, ROPE_BASE, RMS_EPS), false, 0);
            default -> null;
        });
    }

    /**
     * The shape that a --model value's part after "synthetic:" names: a built-in name, else a YAML file.
     *
     * @throws ModelLoadException when it is neither
     */
    public static SyntheticShape parse(String spec) {
        Optional<SyntheticShape> builtIn = named(spec);
        if (builtIn.isPresent()) return builtIn.get();
        Path path = Path.of(spec);
        if (Files.isRegularFile(path)) return fromYaml(path);
        throw new ModelLoadException("synthetic:" + spec, "no such synthetic shape: use one of " + NAMES
                + " or the path of a YAML shape file");
    }

    public SyntheticShape withSeed(long newSeed) {
        return new SyntheticShape(name, config, sharedClassifier, newSeed);
    }

    /** Reads a shape file; every problem is a {@link ModelFormatException} naming the file and the key. */
    public static SyntheticShape fromYaml(Path path) {
        String source = path.toString();
        Object document;
        try {
            if (Files.size(path) > MAX_FILE_BYTES) {
                throw new ModelFormatException(source, "is " + Files.size(path) + " bytes, too large for a shape file");
            }
            document = SafeYaml.load(Files.readString(path));
        } catch (IOException e) {
            throw new ModelLoadException(source, "cannot read the file: " + e, e);
        } catch (SafeYaml.Problem e) {
            throw new ModelFormatException(source, e.describe(), e);
        }
        if (!(document instanceof Map<?, ?> map)) {
            throw new ModelFormatException(source, "a shape file must be a YAML mapping of the keys " + KEYS);
        }
        Map<String, Object> values = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String key = String.valueOf(e.getKey());
            if (!KEYS.contains(key)) throw new ModelFormatException(source, "unknown key '" + key + "' (known: " + KEYS + ")");
            values.put(key, e.getValue());
        }
        Keys keys = new Keys(source, values);
        int heads = keys.positiveInt("heads", null, MAX_HEADS);
        LlamaConfig config;
        try {
            config = new LlamaConfig(keys.positiveInt("dim", null, MAX_DIM),
                    keys.positiveInt("hidden_dim", null, MAX_HIDDEN_DIM), keys.positiveInt("layers", null, MAX_LAYERS),
                    heads, keys.positiveInt("kv_heads", heads, MAX_HEADS),
                    keys.positiveInt("vocab_size", BYTE_VOCABULARY, MAX_VOCABULARY),
                    keys.positiveInt("context_length", null, MAX_CONTEXT),
                    keys.positiveFloat("rope_base", ROPE_BASE), keys.positiveFloat("rms_eps", RMS_EPS));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(source, e.getMessage(), e);
        }
        boolean shared = keys.bool("shared_classifier", true);
        long parameters = config.parameterCount(shared);
        if (parameters > MAX_PARAMETERS) {
            throw new ModelFormatException(source, "the shape has " + parameters + " parameters; a synthetic model may"
                    + " have at most " + MAX_PARAMETERS + " (LLaMA-3 70B's size)");
        }
        return new SyntheticShape(source, config, shared, keys.integer("seed", 0L));
    }

    /** Typed reads of a shape file's values. */
    private record Keys(String source, Map<String, Object> values) {
        int positiveInt(String key, Integer fallback, int max) {
            Object v = values.get(key);
            if (v == null) {
                if (fallback == null) throw new ModelFormatException(source, "missing key '" + key + "'");
                return fallback;
            }
            if (!(v instanceof Integer i) || i <= 0) throw invalid(key, v, "a positive integer");
            if (i > max) throw invalid(key, v, "at most " + max);
            return i;
        }

        long integer(String key, long fallback) {
            Object v = values.get(key);
            if (v == null) return fallback;
            if (!(v instanceof Integer || v instanceof Long)) throw invalid(key, v, "an integer");
            return ((Number) v).longValue();
        }

        float positiveFloat(String key, float fallback) {
            Object v = values.get(key);
            if (v == null) return fallback;
            if (!(v instanceof Number n) || !(n.doubleValue() > 0) || Double.isInfinite(n.doubleValue())) {
                throw invalid(key, v, "a positive number");
            }
            return n.floatValue();
        }

        boolean bool(String key, boolean fallback) {
            Object v = values.get(key);
            if (v == null) return fallback;
            if (!(v instanceof Boolean b)) throw invalid(key, v, "true or false");
            return b;
        }

        private ModelFormatException invalid(String key, Object value, String expected) {
            String shown = value instanceof String s ? "\"" + s + "\"" : String.valueOf(value);
            return new ModelFormatException(source, "key '" + key + "' must be " + expected + ", not " + shown);
        }
    }
}
