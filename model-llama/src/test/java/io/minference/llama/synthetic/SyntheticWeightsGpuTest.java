package io.minference.llama.synthetic;

import io.minference.kernels.transformer.SyntheticWeightsKernel;
import io.minference.llama.synthetic.SyntheticWeights.Kind;
import io.minference.llama.synthetic.SyntheticWeights.TensorKey;
import io.minference.runtime.DType;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaEvent;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.GpuTests;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The device generator of synthetic weights against {@link SyntheticWeights} on the CPU, bit for bit, every element:
 * bf16 (rounded to nearest even from the CPU's f32) and f32, both kinds, odd lengths (the scalar tail), and index
 * ranges past 2^31 and 2^32 through the first-index parameter. Then the fill rate over 2^30 bf16 values.
 */
@Tag("gpu")
class SyntheticWeightsGpuTest {
    private static final int POISON = 0x7FC0DEAD;
    private static CudaBackend backend;
    private static final long SEED = System.nanoTime();

    @BeforeAll
    static void open() {
        backend = GpuTests.openOrSkip();
    }

    @AfterAll
    static void close() {
        if (backend != null) backend.close();
    }

    /** The kernel's (scale, bias) for a tensor key: u * scale for matrices, 1 + u/16 for norms. */
    private static float[] scaleAndBias(TensorKey key) {
        return key.kind() == Kind.NORM ? new float[] {0x1p-4f, 1f} : new float[] {key.scale(), 0f};
    }

    private static void fill(DType dtype, DeviceTensor out, long first, TensorKey key) {
        float[] sb = scaleAndBias(key);
        new SyntheticWeightsKernel(dtype).launch(backend.stream(), out, first, key.key(), sb[0], sb[1]);
        backend.stream().synchronize();
    }

    private static void checkBf16(TensorKey key, int count, long first) {
        try (DeviceTensor out = DeviceTensor.allocate(backend.context(), DType.BF16, count)) {
            out.buffer().fillBytes((byte) 0xFF); // 0xFFFF, a bf16 NaN, for any count (odd ones too)
            fill(DType.BF16, out, first, key);
            short[] got = new short[count];
            out.buffer().copyToHost(MemorySegment.ofArray(got));
            for (int i = 0; i < count; i++) {
                short want = BFloat16.fromFloat(SyntheticWeights.value(key, first + i));
                if (got[i] != want) {
                    fail("bf16 element " + (first + i) + ": got 0x" + Integer.toHexString(got[i] & 0xFFFF) + ", expected 0x"
                            + Integer.toHexString(want & 0xFFFF) + " (seed " + SEED + ", " + backend.device().name() + ")");
                }
            }
        }
    }

    private static void checkF32(TensorKey key, int count, long first) {
        try (DeviceTensor out = DeviceTensor.allocate(backend.context(), DType.F32, count)) {
            out.buffer().fillInts(POISON);
            fill(DType.F32, out, first, key);
            float[] got = new float[count];
            out.buffer().copyToHost(MemorySegment.ofArray(got));
            for (int i = 0; i < count; i++) {
                float want = SyntheticWeights.value(key, first + i);
                if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(want)) {
                    fail("f32 element " + (first + i) + ": got " + got[i] + ", expected " + want + " (seed " + SEED + ")");
                }
            }
        }
    }

    @Test
    void bf16MatrixAndEmbeddingValuesMatchBitForBit() {
        checkBf16(TensorKey.of(SEED, "blk.0.attn_q.weight", Kind.SCALED, SyntheticWeights.scale(4096, 0)), 1_000_003, 0);
        checkBf16(TensorKey.of(SEED, "token_embd.weight", Kind.SCALED, SyntheticWeights.scale(4096, 0)), 4096 * 3 + 5, 0);
        checkBf16(TensorKey.of(SEED, "blk.7.attn_norm.weight", Kind.NORM, 1f), 4096, 0);
    }

    @Test
    void f32ValuesOfBothKindsMatchBitForBit() {
        checkF32(TensorKey.of(SEED, "blk.3.ffn_down.weight", Kind.SCALED, SyntheticWeights.scale(14336, 32)), 777_777, 0);
        checkF32(TensorKey.of(SEED, "output_norm.weight", Kind.NORM, 1f), 4099, 0);
    }

    @Test
    void indicesPast2To31And2To32() {
        TensorKey key = TensorKey.of(SEED, "blk.31.ffn_gate.weight", Kind.SCALED, SyntheticWeights.scale(4096, 0));
        checkBf16(key, 100_003, (1L << 31) - 50_000);
        checkBf16(key, 100_001, 3L << 32 | 12345);
        checkF32(key, 65_541, (1L << 32) - 7);
    }

    @Test
    void fillRate() {
        long count = 1L << 30;
        TensorKey key = TensorKey.of(SEED, "blk.0.ffn_up.weight", Kind.SCALED, SyntheticWeights.scale(4096, 0));
        SyntheticWeightsKernel kernel = new SyntheticWeightsKernel(DType.BF16);
        try (DeviceTensor out = DeviceTensor.allocate(backend.context(), DType.BF16, count);
             CudaEvent start = backend.context().createEvent(); CudaEvent end = backend.context().createEvent()) {
            out.buffer().fillInts(POISON);
            kernel.launch(backend.stream(), out, 0, key.key(), key.scale(), 0f);
            double[] ms = new double[5];
            for (int r = 0; r < ms.length; r++) {
                start.record(backend.stream());
                kernel.launch(backend.stream(), out, 0, key.key(), key.scale(), 0f);
                end.record(backend.stream());
                ms[r] = end.elapsedMillisSince(start);
            }
            Arrays.sort(ms);
            double median = ms[ms.length / 2];
            System.out.printf("BENCH synthetic bf16 fill of 2^30 values on %s: %.2f ms, %.0f GB/s written, %.1f G values/s;"
                            + " 8 G values (llama3-8b) in about %.0f ms%n", backend.device().name(), median,
                    2.0 * count / (median * 1e6), count / (median * 1e6), median * 8e9 / count);
            short[] head = new short[4096];
            out.buffer().slice(2 * (count - head.length), 2L * head.length).copyToHost(MemorySegment.ofArray(head));
            for (int i = 0; i < head.length; i++) {
                assertEquals(BFloat16.fromFloat(SyntheticWeights.value(key, count - head.length + i)), head[i],
                        "element " + (count - head.length + i));
            }
            assertTrue(median > 0);
        }
    }
}
