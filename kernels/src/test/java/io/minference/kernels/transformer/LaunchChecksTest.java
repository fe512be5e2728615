package io.minference.kernels.transformer;

import io.minference.kernels.transformer.LaunchChecks.Buffer;
import io.minference.runtime.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Launches that would read or write out of bounds are refused on the host, with the problem named. */
class LaunchChecksTest {
    private static Buffer f32(String name, long n) {
        return new Buffer(name, DType.F32, n);
    }

    private static Buffer bf16(String name, long n) {
        return new Buffer(name, DType.BF16, n);
    }

    private static void refused(String expected, Executable launch) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, launch);
        assertTrue(e.getMessage().contains(expected), () -> "expected '" + expected + "' in: " + e.getMessage());
    }

    @Test
    void embeddingGather() {
        Buffer ids = new Buffer("ids", DType.I32, 4);
        assertDoesNotThrow(() -> EmbeddingGather.check(bf16("table", 80), 10, 8, ids, f32("out", 32), 4));
        refused("dim must be a positive multiple of 8", () -> EmbeddingGather.check(bf16("table", 60), 10, 6, ids,
                f32("out", 24), 4));
        refused("table must be BF16", () -> EmbeddingGather.check(f32("table", 80), 10, 8, ids, f32("out", 32), 4));
        refused("ids holds 4 elements, the launch needs 5", () -> EmbeddingGather.check(bf16("table", 80), 10, 8, ids,
                f32("out", 40), 5));
    }

    @Test
    void rmsNorm() {
        RmsNormToBf16 plain = RmsNormToBf16.plain();
        assertDoesNotThrow(() -> plain.check(f32("x", 64), f32("weight", 16), bf16("out", 64), 4, 16));
        refused("out holds 48 elements", () -> plain.check(f32("x", 64), f32("weight", 16), bf16("out", 48), 4, 16));
        refused("x must be F32", () -> plain.check(bf16("x", 64), f32("weight", 16), bf16("out", 64), 4, 16));
        refused("multiple of 8", () -> plain.check(f32("x", 60), f32("weight", 15), bf16("out", 60), 4, 15));
    }

    @Test
    void ropeKvWrite() {
        RopeKvWrite rope = new RopeKvWrite(4, 2, 8);
        Buffer qkv = bf16("qkv", 3L * rope.rowWidth()), q = bf16("q", 3L * rope.qWidth());
        Buffer cache = bf16("kCache", 10L * rope.kvWidth()), freqs = f32("freqs", 8);
        assertDoesNotThrow(() -> rope.check(qkv, q, cache, cache, freqs, 7, 3, 10));
        refused("positions 8 .. 10 do not fit a KV cache of 10 rows",
                () -> rope.check(qkv, q, cache, cache, freqs, 8, 3, 10));
        refused("past the 2^24", () -> rope.check(qkv, q, bf16("kCache", (1L << 25) * rope.kvWidth()),
                bf16("vCache", (1L << 25) * rope.kvWidth()), freqs, (1 << 24) - 1, 3, 1L << 25));
        refused("freqs holds 4 elements", () -> rope.check(qkv, q, cache, cache, f32("freqs", 4), 0, 3, 10));
        refused("head size that is a multiple of 8", () -> new RopeKvWrite(4, 2, 12));
        refused("multiple of KV heads", () -> new RopeKvWrite(5, 2, 8));
    }

    @Test
    void syntheticWeights() {
        refused("16-byte aligned", () -> SyntheticWeightsKernel.check(0x1008, 100, 0));
        refused("must not be negative", () -> SyntheticWeightsKernel.check(0x1000, 100, -1));
        refused("count must be positive", () -> SyntheticWeightsKernel.check(0x1000, 0, 0));
        refused("F32 or BF16", () -> new SyntheticWeightsKernel(DType.I8));
    }
}
