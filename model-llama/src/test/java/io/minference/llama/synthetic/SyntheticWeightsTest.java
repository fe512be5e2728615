package io.minference.llama.synthetic;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LlamaWeights;
import io.minference.llama.synthetic.SyntheticWeights.Kind;
import io.minference.llama.synthetic.SyntheticWeights.TensorKey;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class SyntheticWeightsTest {
    private static final BigInteger MOD = BigInteger.ONE.shiftLeft(64);

    /** The Javadoc's formula, evaluated with arbitrary-precision integers reduced modulo 2^64. */
    private static final class Reference {
        static BigInteger u64(long v) {
            return BigInteger.valueOf(v).mod(MOD);
        }

        static BigInteger mix(BigInteger z) {
            z = z.xor(z.shiftRight(30)).multiply(new BigInteger("BF58476D1CE4E5B9", 16)).mod(MOD);
            z = z.xor(z.shiftRight(27)).multiply(new BigInteger("94D049BB133111EB", 16)).mod(MOD);
            return z.xor(z.shiftRight(31));
        }

        static BigInteger fnv1a(String name) {
            BigInteger h = new BigInteger("CBF29CE484222325", 16);
            for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
                h = h.xor(BigInteger.valueOf(b & 0xFF)).multiply(new BigInteger("100000001B3", 16)).mod(MOD);
            }
            return h;
        }

        static double uniform(long seed, String name, long index) {
            BigInteger key = mix(fnv1a(name).xor(mix(u64(seed))));
            BigInteger counter = BigInteger.valueOf(index).add(BigInteger.ONE)
                    .multiply(new BigInteger("9E3779B97F4A7C15", 16));
            BigInteger bits = mix(key.add(counter).mod(MOD));
            return (bits.shiftRight(40).intValue() - (1 << 23)) / (double) (1 << 23);
        }
    }

    @Test
    void matchesTheDocumentedFormula() {
        long[] seeds = {0, 1, -7, Long.MAX_VALUE};
        String[] names = {"token_embd.weight", "blk.31.ffn_down.weight", "é"};
        long[] indices = {0, 1, 12345, 1L << 40, 4096L * 14336 - 1};
        for (long seed : seeds) {
            for (String name : names) {
                TensorKey key = TensorKey.of(seed, name, Kind.SCALED, 1f);
                for (long i : indices) {
                    assertEquals(Reference.uniform(seed, name, i), SyntheticWeights.uniform(key.key(), i),
                            seed + " " + name + " " + i);
                }
            }
        }
        assertEquals(Reference.fnv1a("abc").longValue(), SyntheticWeights.nameHash("abc"));
    }

    @Test
    void scalingOfEachKind() {
        TensorKey norm = TensorKey.of(3, "n", Kind.NORM, 1f);
        TensorKey scaled = TensorKey.of(3, "m", Kind.SCALED, 0.125f);
        for (long i = 0; i < 1000; i++) {
            assertEquals(1f + SyntheticWeights.uniform(norm.key(), i) / 16f, SyntheticWeights.value(norm, i));
            assertEquals(SyntheticWeights.uniform(scaled.key(), i) * 0.125f, SyntheticWeights.value(scaled, i));
        }
        assertEquals((float) (1 / Math.sqrt(2048)), SyntheticWeights.scale(2048, 0));
        assertEquals((float) (1 / Math.sqrt(8192.0 * 2 * 16)), SyntheticWeights.scale(8192, 16));
    }

    @Test
    void uniformOnMinusOneToOne() {
        TensorKey key = TensorKey.of(11, "blk.0.attn_q.weight", Kind.SCALED, 1f);
        int n = 1 << 20;
        double sum = 0;
        double sumSquares = 0;
        float min = 1;
        float max = -1;
        for (int i = 0; i < n; i++) {
            float u = SyntheticWeights.uniform(key.key(), i);
            sum += u;
            sumSquares += u * u;
            min = Math.min(min, u);
            max = Math.max(max, u);
        }
        assertTrue(min >= -1f && max < 1f, min + " " + max);
        assertTrue(min < -0.999f && max > 0.999f, min + " " + max);
        assertEquals(0, sum / n, 0.005);
        assertEquals(1.0 / 3, sumSquares / n, 0.005);
    }

    @Test
    void independentOfThreadCountAndFillOrder() {
        TensorKey key = TensorKey.of(5, "blk.3.ffn_gate.weight", Kind.SCALED, 0.03f);
        long n = 300_001;
        float[] single;
        float[] many;
        try (Tensor a = Tensor.allocate(DType.F32, n); Tensor b = Tensor.allocate(DType.F32, n);
             ForkJoinPool one = new ForkJoinPool(1); ForkJoinPool three = new ForkJoinPool(3)) {
            one.submit(() -> SyntheticWeights.fill(key, a)).join();
            three.submit(() -> SyntheticWeights.fill(key, b)).join();
            single = a.toFloatArray();
            many = b.toFloatArray();
        }
        assertArrayEquals(single, many);
        float[] reversed = new float[(int) n];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(4 * n);
            long[] cuts = {0, 7, 1000, 65536, 200_000, n};
            for (int c = cuts.length - 2; c >= 0; c--) {
                long from = cuts[c];
                SyntheticWeights.fill(key, segment.asSlice(4 * from, 4 * (cuts[c + 1] - from)), from, cuts[c + 1] - from);
            }
            MemorySegment.copy(segment, ValueLayout.JAVA_FLOAT, 0, reversed, 0, (int) n);
        }
        assertArrayEquals(single, reversed);
        for (long i : new long[] {0, 1, 65535, 65536, n - 1}) assertEquals(SyntheticWeights.value(key, i), single[(int) i]);
    }

    @Test
    void differsAcrossSeedsAndNames() {
        TensorKey base = TensorKey.of(0, "blk.0.attn_q.weight", Kind.SCALED, 1f);
        TensorKey otherSeed = TensorKey.of(1, "blk.0.attn_q.weight", Kind.SCALED, 1f);
        TensorKey otherName = TensorKey.of(0, "blk.0.attn_k.weight", Kind.SCALED, 1f);
        TensorKey otherLayer = TensorKey.of(0, "blk.1.attn_q.weight", Kind.SCALED, 1f);
        int equalSeed = 0;
        int equalName = 0;
        int equalLayer = 0;
        for (long i = 0; i < 10_000; i++) {
            float v = SyntheticWeights.value(base, i);
            if (v == SyntheticWeights.value(otherSeed, i)) equalSeed++;
            if (v == SyntheticWeights.value(otherName, i)) equalName++;
            if (v == SyntheticWeights.value(otherLayer, i)) equalLayer++;
        }
        assertTrue(equalSeed < 5 && equalName < 5 && equalLayer < 5, equalSeed + " " + equalName + " " + equalLayer);
    }

    @Test
    void sliceOfTheLargestTensorOfLlama3_1b() {
        SyntheticShape shape = SyntheticShape.named("llama3-1b").orElseThrow();
        SyntheticModel.TensorSpec down = SyntheticModel.tensors(shape).stream()
                .filter(t -> t.name().equals("blk.15.ffn_down.weight")).findFirst().orElseThrow();
        assertArrayEquals(new long[] {2048, 8192}, down.shape());
        assertEquals(SyntheticWeights.scale(8192, 16), down.key().scale());
        long from = down.elementCount() - 5000;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment slice = arena.allocate(4 * 5000);
            SyntheticWeights.fill(down.key(), slice, from, 5000);
            for (int i = 0; i < 5000; i++) {
                assertEquals(SyntheticWeights.value(down.key(), from + i), slice.getAtIndex(ValueLayout.JAVA_FLOAT, i));
            }
        }
        assertEquals(1 + 16 * 9 + 1, SyntheticModel.tensors(shape).size());
    }

    @Test
    void tinyModelTensorsMatchTheGenerator() {
        SyntheticShape tiny = SyntheticShape.named("tiny").orElseThrow();
        AtomicLong done = new AtomicLong();
        AtomicLong total = new AtomicLong();
        try (LlamaWeights w = SyntheticModel.create(tiny, (stage, d, t) -> {
            done.set(d);
            total.set(t);
        })) {
            assertEquals(total.get(), done.get());
            assertEquals(4 * 9 + 3, total.get());
            assertNotSame(w.tokenEmbedding(), w.classifier());
            assertArrayEquals(new long[] {258, 512}, w.tokenEmbedding().shape());
            assertArrayEquals(new long[] {128, 512}, w.layers().get(3).wk().shape());
            assertArrayEquals(new long[] {512, 1408}, w.layers().get(3).wDown().shape());
            for (SyntheticModel.TensorSpec spec : SyntheticModel.tensors(tiny)) {
                Tensor t = tensorNamed(w, spec.name());
                assertArrayEquals(spec.shape(), t.shape(), spec.name());
                for (long i = 0; i < spec.elementCount(); i += 9973) {
                    assertEquals(SyntheticWeights.value(spec.key(), i), t.getFloat(i), spec.name() + " " + i);
                }
            }
        }
    }

    static Tensor tensorNamed(LlamaWeights w, String name) {
        return switch (name) {
            case "token_embd.weight" -> w.tokenEmbedding();
            case "output_norm.weight" -> w.outputNorm();
            case "output.weight" -> w.classifier();
            default -> {
                String[] parts = name.split("\\.");
                var layer = w.layers().get(Integer.parseInt(parts[1]));
                yield switch (parts[2]) {
                    case "attn_norm" -> layer.attentionNorm();
                    case "attn_q" -> layer.wq();
                    case "attn_k" -> layer.wk();
                    case "attn_v" -> layer.wv();
                    case "attn_output" -> layer.wo();
                    case "ffn_norm" -> layer.ffnNorm();
                    case "ffn_gate" -> layer.wGate();
                    case "ffn_up" -> layer.wUp();
                    case "ffn_down" -> layer.wDown();
                    default -> throw new IllegalArgumentException(name);
                };
            }
        };
    }
}
