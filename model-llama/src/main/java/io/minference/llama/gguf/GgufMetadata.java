package io.minference.llama.gguf;

import io.minference.llama.load.ModelFormatException;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A GGUF file's key/value metadata with typed accessors. The require* accessors fail with a
 * {@link ModelFormatException} naming the file and the key, e.g.
 * "model.gguf: missing metadata key 'llama.block_count'".
 */
public final class GgufMetadata {
    private final String source;
    private final Map<String, GgufValue> values;

    GgufMetadata(String source, Map<String, GgufValue> values) {
        this.source = source;
        this.values = Collections.unmodifiableMap(values);
    }

    public Set<String> keys() {
        return values.keySet();
    }

    public Map<String, GgufValue> asMap() {
        return values;
    }

    public Optional<GgufValue> get(String key) {
        return Optional.ofNullable(values.get(key));
    }

    public boolean contains(String key) {
        return values.containsKey(key);
    }

    private GgufValue require(String key) {
        GgufValue value = values.get(key);
        if (value == null) throw new ModelFormatException(source, "missing metadata key '" + key + "'");
        return value;
    }

    private ModelFormatException wrongType(String key, GgufValue value, String expected) {
        return new ModelFormatException(source, "metadata key '" + key + "' is " + describe(value) + ", expected "
                + expected);
    }

    private static String describe(GgufValue value) {
        return value instanceof GgufValue.Array a ? "an array of " + a.elementType() : "a " + value.type();
    }

    /** An integer of any GGUF integer type that fits in a Java int. */
    public int requireInt(String key) {
        long v = requireLong(key);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new ModelFormatException(source, "metadata key '" + key + "' = " + v + " does not fit in an int");
        }
        return (int) v;
    }

    public int intOr(String key, int fallback) {
        return values.containsKey(key) ? requireInt(key) : fallback;
    }

    public long requireLong(String key) {
        GgufValue value = require(key);
        if (!(value instanceof GgufValue.Int i)) throw wrongType(key, value, "an integer");
        if (i.type() == GgufType.UINT64 && i.value() < 0) {
            throw new ModelFormatException(source, "metadata key '" + key + "' = "
                    + Long.toUnsignedString(i.value()) + " does not fit in a long");
        }
        return i.value();
    }

    /** A FLOAT32 or FLOAT64 value (integers are accepted too, as some converters write them). */
    public float requireFloat(String key) {
        return (float) requireDouble(key);
    }

    public float floatOr(String key, float fallback) {
        return values.containsKey(key) ? requireFloat(key) : fallback;
    }

    public double requireDouble(String key) {
        GgufValue value = require(key);
        return switch (value) {
            case GgufValue.Real r -> r.value();
            case GgufValue.Int i -> i.value();
            default -> throw wrongType(key, value, "a number");
        };
    }

    public boolean requireBool(String key) {
        GgufValue value = require(key);
        if (!(value instanceof GgufValue.Bool b)) throw wrongType(key, value, "a bool");
        return b.value();
    }

    public String requireString(String key) {
        GgufValue value = require(key);
        if (!(value instanceof GgufValue.Text t)) throw wrongType(key, value, "a string");
        return t.value();
    }

    public Optional<String> string(String key) {
        return values.containsKey(key) ? Optional.of(requireString(key)) : Optional.empty();
    }

    public GgufValue.Array requireArray(String key) {
        GgufValue value = require(key);
        if (!(value instanceof GgufValue.Array a)) throw wrongType(key, value, "an array");
        return a;
    }

    public List<String> requireStringArray(String key) {
        GgufValue.Array a = requireArray(key);
        if (a.elementType() != GgufType.STRING) throw wrongType(key, a, "an array of STRING");
        return a.strings();
    }

    /** An array of any integer type whose elements all fit in a Java int. */
    public int[] requireIntArray(String key) {
        GgufValue.Array a = requireArray(key);
        if (!a.elementType().isInteger()) throw wrongType(key, a, "an array of integers");
        int[] result = new int[a.length()];
        for (int i = 0; i < result.length; i++) {
            long v = a.longAt(i);
            boolean unsigned64 = a.elementType() == GgufType.UINT64;
            if (unsigned64 && v < 0 || v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
                throw new ModelFormatException(source, "metadata key '" + key + "' element " + i + " = "
                        + (unsigned64 ? Long.toUnsignedString(v) : Long.toString(v)) + " does not fit in an int");
            }
            result[i] = (int) v;
        }
        return result;
    }

    /** An array of FLOAT32 or FLOAT64. */
    public float[] requireFloatArray(String key) {
        GgufValue.Array a = requireArray(key);
        if (a.elementType() != GgufType.FLOAT32 && a.elementType() != GgufType.FLOAT64) {
            throw wrongType(key, a, "an array of floats");
        }
        float[] result = new float[a.length()];
        for (int i = 0; i < result.length; i++) result[i] = (float) a.doubleAt(i);
        return result;
    }

    @Override
    public String toString() {
        return "GgufMetadata" + values;
    }
}
