package io.minference.kernels.transformer;

import io.minference.kernels.WarpEmulator;
import io.minference.kernels.cpu.RmsNorm;
import io.minference.ptx.PtxTarget;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.BFloat16;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Two of the GPU forward pass's own kernels run by {@link WarpEmulator} without a GPU, against their CPU twins:
 * {@link RmsNormToBf16} (every output within a bf16 rounding of {@link RmsNorm}'s, the two summing the squares in
 * different orders) and {@link Argmax} (the CPU twin's index exactly, ties to the lowest index, NaN never winning, a
 * row of NaN giving -1). Random rows (seed printed).
 */
class TransformerKernelsEmulationTest {
    @Test
    void rmsNormMatchesTheCpuTwin() {
        long seed = System.nanoTime();
        System.out.println("rmsNormMatchesTheCpuTwin seed " + seed);
        Random random = new Random(seed);
        int rows = 3, dim = 1024;
        float eps = 1e-5f;
        float[] x = new float[rows * dim], weight = new float[dim];
        for (int i = 0; i < x.length; i++) x[i] = (float) (random.nextGaussian() * (1 + i / dim * 10));
        for (int i = 0; i < dim; i++) weight[i] = (float) (1 + 0.1 * random.nextGaussian());
        RmsNormToBf16 kernel = RmsNormToBf16.plain();
        WarpEmulator gpu = new WarpEmulator(kernel.emit(PtxTarget.SM_80).ptx());
        Map<String, Long> params = new HashMap<>();
        params.put("x", gpu.upload(WarpEmulator.f32Bytes(x)));
        params.put("weight", gpu.upload(WarpEmulator.f32Bytes(weight)));
        long out = gpu.allocate(2 * rows * dim);
        params.put("out", out);
        params.put("dim", (long) dim);
        params.put("eps", (long) Float.floatToRawIntBits(eps));
        assertEquals(new HashSet<>(gpu.params()), params.keySet(), "the kernel's parameters");
        for (int r = 0; r < rows; r++) gpu.runBlock(params, r, 0, 1, kernel.block());

        float[] expected = new float[rows * dim];
        try (Tensor in = Tensor.ofFloats(x, rows, dim); Tensor w = Tensor.ofFloats(weight, 1, dim);
             Tensor o = Tensor.ofFloats(expected, rows, dim)) {
            RmsNorm.apply(in, w, o, rows, eps);
            expected = o.toFloatArray();
        }
        ByteBuffer got = ByteBuffer.wrap(gpu.bytes(out)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < rows * dim; i++) {
            float value = BFloat16.toFloat(got.getShort(2 * i));
            if (!(Math.abs(value - expected[i]) <= 0x1p-8 * Math.abs(expected[i]))) {
                fail("row " + i / dim + ", column " + i % dim + ": " + value + ", CPU " + expected[i] + "; seed " + seed);
            }
        }
    }

    @Test
    void argmaxMatchesTheCpuTwin() {
        long seed = System.nanoTime();
        System.out.println("argmaxMatchesTheCpuTwin seed " + seed);
        Random random = new Random(seed);
        int rows = 5, vocab = 3000;
        float[] logits = new float[rows * vocab];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) random.nextGaussian();
        // row 1: a tie (the lowest index must win); row 2: NaNs and the top late; row 3: every value NaN; row 4: -inf
        logits[vocab + 7] = 9f;
        logits[vocab + 2500] = 9f;
        for (int i = 0; i < vocab; i += 3) logits[2 * vocab + i] = Float.NaN;
        logits[2 * vocab + vocab - 1] = 12f;
        for (int i = 0; i < vocab; i++) logits[3 * vocab + i] = Float.NaN;
        for (int i = 0; i < vocab; i++) logits[4 * vocab + i] = Float.NEGATIVE_INFINITY;
        Argmax kernel = new Argmax(256);
        WarpEmulator gpu = new WarpEmulator(kernel.emit(PtxTarget.SM_80).ptx());
        Map<String, Long> params = new HashMap<>();
        params.put("logits", gpu.upload(WarpEmulator.f32Bytes(logits)));
        long out = gpu.allocate(4 * rows);
        params.put("out", out);
        params.put("vocab", (long) vocab);
        assertEquals(new HashSet<>(gpu.params()), params.keySet(), "the kernel's parameters");
        for (int r = 0; r < rows; r++) gpu.runBlock(params, r, 0, 1, kernel.block());
        int[] got = WarpEmulator.u32s(gpu.bytes(out));
        for (int r = 0; r < rows; r++) {
            assertEquals(CpuArgmax.argmax(logits, r * vocab, vocab), got[r], "row " + r + "; seed " + seed);
        }
        assertEquals(7, got[1], "a tie goes to the lowest index");
        assertEquals(-1, got[3], "a row of NaN");
    }
}
