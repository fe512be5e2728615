package io.minference.llama.synthetic;

import io.minference.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.stream.LongStream;

/**
 * The weight generator. Element {@code i} (row-major index) of the tensor named {@code name} is:
 *
 * <pre>
 *   mix(z)   = z ^= z >>> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >>> 27; z *= 0x94D049BB133111EB; z ^= z >>> 31
 *              (SplitMix64's finalizer; all arithmetic modulo 2^64, >>> a logical shift)
 *   nameHash = FNV-1a 64 of the name's UTF-8 bytes: h = 0xCBF29CE484222325; for each byte b: h = (h ^ b) * 0x100000001B3
 *   key      = mix(nameHash ^ mix(seed))                                   (once per tensor)
 *   bits     = mix(key + (i + 1) * 0x9E3779B97F4A7C15)
 *   u        = (float) ((int) (bits >>> 40) - 2^23) * 2^-23                 (exact: uniform on [-1, 1) in steps of 2^-23)
 *   value    = u * scale                  for matrices and the embedding, one round-to-nearest F32 multiply
 *            = 1 + u * 2^-4              for RMSNorm weights (the product is exact, so an FMA gives the same float)
 * </pre>
 *
 * The scales: the token embedding, attn_q, attn_k, attn_v, ffn_gate, ffn_up and output 1/sqrt(dim) (their fan-in;
 * the embedding too, so that a classifier shared with it gives logits of the same spread); the two projections that
 * write into the residual stream, attn_output and ffn_down, 1/sqrt(fan_in · 2 · layers), so that the residual grows
 * slowly over the layers (as in GPT-2's initialization). Each scale is computed in double and rounded once to F32;
 * {@link #scale} gives it. A device kernel needs only the 64-bit key and the F32 scale.
 */
public final class SyntheticWeights {
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
    private static final long FNV_OFFSET = 0xCBF29CE484222325L;
    private static final long FNV_PRIME = 0x100000001B3L;
    private static final float NORM_SPREAD = 0x1p-4f;
    private static final long ELEMENTS_PER_TASK = 1 << 16;
    private static final int BUFFER_ELEMENTS = 1 << 12;

    private SyntheticWeights() {
    }

    /** What a tensor is, which decides how its uniform values are scaled. */
    public enum Kind {
        /** RMSNorm weight: 1 + u/16. */
        NORM,
        /** Matrix or embedding: u · scale. */
        SCALED
    }

    /** Everything the generator needs for one tensor. */
    public record TensorKey(long key, Kind kind, float scale) {
        public static TensorKey of(long seed, String name, Kind kind, float scale) {
            return new TensorKey(mix(nameHash(name) ^ mix(seed)), kind, scale);
        }
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** FNV-1a 64 of the UTF-8 bytes of {@code name}. */
    public static long nameHash(String name) {
        long h = FNV_OFFSET;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) h = (h ^ (b & 0xFF)) * FNV_PRIME;
        return h;
    }

    /** The uniform value on [-1, 1) behind element {@code index}. */
    public static float uniform(long key, long index) {
        long bits = mix(key + (index + 1) * GOLDEN_GAMMA);
        return (float) ((int) (bits >>> 40) - (1 << 23)) * 0x1p-23f;
    }

    /** Element {@code index} of the tensor {@code key} describes. */
    public static float value(TensorKey key, long index) {
        float u = uniform(key.key(), index);
        return switch (key.kind()) {
            case NORM -> 1f + u * NORM_SPREAD;
            case SCALED -> u * key.scale();
        };
    }

    /** 1/sqrt(fanIn · residualLayers · 2) rounded to F32, with residualLayers 0 meaning a plain 1/sqrt(fanIn). */
    public static float scale(long fanIn, int residualLayers) {
        double variance = residualLayers > 0 ? 2.0 * residualLayers * fanIn : fanIn;
        return (float) (1.0 / Math.sqrt(variance));
    }

    /**
     * Writes elements {@code from} .. {@code from + count - 1} of the tensor into {@code dst} (whose element 0 is
     * element {@code from}). Every element is computed on its own, so any split of the range gives the same floats.
     */
    public static void fill(TensorKey key, MemorySegment dst, long from, long count) {
        float[] buffer = new float[(int) Math.min(count, BUFFER_ELEMENTS)];
        for (long done = 0; done < count; done += buffer.length) {
            int n = (int) Math.min(buffer.length, count - done);
            values(key, from + done, buffer, n);
            MemorySegment.copy(buffer, 0, dst, ValueLayout.JAVA_FLOAT_UNALIGNED, done * Float.BYTES, n);
        }
    }

    /** {@link #value} of elements from .. from + n - 1, with the counter advanced by addition instead of multiplied. */
    private static void values(TensorKey key, long from, float[] out, int n) {
        long counter = key.key() + (from + 1) * GOLDEN_GAMMA;
        float scale = key.scale();
        boolean norm = key.kind() == Kind.NORM;
        for (int i = 0; i < n; i++, counter += GOLDEN_GAMMA) {
            float u = (float) ((int) (mix(counter) >>> 40) - (1 << 23)) * 0x1p-23f;
            out[i] = norm ? 1f + u * NORM_SPREAD : u * scale;
        }
    }

    /** Fills a whole F32 tensor, in parallel on the common fork-join pool (or the pool the caller runs in). */
    public static void fill(TensorKey key, Tensor tensor) {
        MemorySegment data = tensor.data();
        long n = tensor.elementCount();
        long tasks = (n + ELEMENTS_PER_TASK - 1) / ELEMENTS_PER_TASK;
        LongStream.range(0, tasks).parallel().forEach(task -> {
            long from = task * ELEMENTS_PER_TASK;
            long count = Math.min(ELEMENTS_PER_TASK, n - from);
            fill(key, data.asSlice(from * Float.BYTES, count * Float.BYTES), from, count);
        });
    }
}
