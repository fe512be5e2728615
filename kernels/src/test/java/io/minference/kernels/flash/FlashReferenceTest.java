package io.minference.kernels.flash;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.attention.CpuCausalAttention;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The float64 reference the GPU tests trust agrees with the project's CPU attention and with a hand example. */
class FlashReferenceTest {
    @Test
    void float64ReferenceMatchesTheCpuAttention() {
        AttentionShape shape = new AttentionShape(8, 2, 16);
        long seed = System.nanoTime();
        AttentionProblem problem = AttentionProblem.random(shape, 23, 9, seed);
        float[] cpu;
        try (CpuBackend backend = new CpuBackend(2)) {
            Tensor out = Tensor.ofFloats(new float[23 * shape.queryDim()], 23, shape.queryDim());
            new CpuCausalAttention(backend).attend(0, shape, Tensor.ofFloats(problem.q(), 23, shape.queryDim()),
                    Tensor.ofFloats(problem.k(), problem.capacity(), shape.kvDim()),
                    Tensor.ofFloats(problem.v(), problem.capacity(), shape.kvDim()), out, 9, 23);
            cpu = out.data().toArray(ValueLayout.JAVA_FLOAT);
        }
        double error = AttentionProblem.relativeError(cpu, problem.reference());
        assertTrue(error < 1e-5, "seed " + seed + ": error " + error);
    }

    @Test
    void aSingleKeyIsCopiedAndTwoEqualKeysAverage() {
        AttentionShape shape = new AttentionShape(1, 1, 2);
        float[] q = {1, 0, 1, 0};
        float[] k = {1, 0, 1, 0};
        float[] v = {2, 4, 6, 8};
        double[] out = new AttentionProblem(shape, 2, 0, 2, q, k, v).reference();
        assertEquals(2, out[0], 1e-12);
        assertEquals(4, out[1], 1e-12);
        assertEquals(4, out[2], 1e-12);
        assertEquals(6, out[3], 1e-12);
    }

    @Test
    void theKernelScaleIsTheSoftmaxScaleInLog2Units() {
        assertEquals(1 / Math.sqrt(128) / Math.log(2), FlashAttention.log2Scale(128), 1e-7);
    }
}
