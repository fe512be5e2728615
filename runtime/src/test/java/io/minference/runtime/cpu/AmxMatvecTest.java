package io.minference.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.x86.AmxSupport;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The AMX decode product (one token through the backend's matmul) against the float64 product of the same weights
 * decoded by the reference decoder, on random blocks (seeds printed, outputs poisoned with NaN), within x's
 * quantization bound: row r may move by Σ_b d[b] / 2 · Σ_{k in b} |w[r, k]| (d = max|x| / 127 over the block), plus
 * float rounding (a relative 1e-5 of Σ|w·x|).
 */
class AmxMatvecTest {
    @Test
    void rowsMatchTheFloat64ProductWithinTheQuantizationBound() {
        assumeTrue(AmxSupport.available(), AmxSupport.unavailableBecause());
        long seed = System.nanoTime();
        System.out.println("rowsMatchTheFloat64ProductWithinTheQuantizationBound seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        // one group and one block; groups and blocks in runs of four and left over; a down projection on the pool
        int[][] shapes = {{16, 32}, {48, 7 * 32}, {2048, 2048}, {512, 8192}};
        try (CpuBackend backend = new CpuBackend(2)) {
            for (int[] shape : shapes) {
                assertTrue(AmxMatvec.handles(backend, DType.Q8_0, Arena.global().allocate(1), shape[0], shape[1]));
                check(backend, random, shape[0], shape[1]);
            }
        }
    }

    private static void check(CpuBackend backend, SplittableRandom random, int n, int k) {
        try (Tensor x = BlockMatmulTest.randomFloats(random, 1, k);
             Tensor w = BlockMatmulTest.randomBlocks(random, DType.Q8_0, n, k);
             Tensor decoded = BlockMatmulTest.decodeReference(w);
             Tensor out = Tensor.allocate(DType.F32, 1, n)) {
            for (int i = 0; i < n; i++) out.setFloat(i, Float.NaN);
            backend.matmul(x, w, out, 1);
            AmxMatmulTest.assertWithinQuantizationBound(x, decoded, out, 1, n, k);
        }
    }
}
