package io.minference.llama.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LlamaConfig;
import io.minference.llama.synthetic.SyntheticShape;
import java.util.Locale;
import org.junit.jupiter.api.Test;

class LinearKernelTest {
    private static final LlamaConfig LLAMA3_8B = SyntheticShape.parse("llama3-8b").config();
    private static final double FLOPS = 780e12;
    private static final double BYTES = 4.8e12;

    private static double floor(LinearKernel kernel, long tokens) {
        return kernel.floorSeconds(LLAMA3_8B, tokens, 1, FLOPS, BYTES);
    }

    /** The layers' four GEMMs together are 2 FLOPs per token and weight of every layer (4096·53248 weights each). */
    @Test
    void layerGemmFloorsAddUpToTwoFlopsPerWeightAndToken() {
        long tokens = 131072;
        double gemms = floor(LinearKernel.QKV_GEMM, tokens) + floor(LinearKernel.OUTPUT_GEMM, tokens)
                + floor(LinearKernel.GATE_UP_GEMM, tokens) + floor(LinearKernel.DOWN_GEMM, tokens);
        double weights = 32.0 * 4096 * (6144 + 4096 + 3 * 14336);
        assertEquals(2.0 * tokens * weights / FLOPS, gemms, 1e-12);
        assertEquals(2.3457, gemms, 1e-4, "the issue's GEMM floor of about 2.4 s at 128K");
    }

    /** Elementwise kernels: the bytes each reads and writes once per token and layer. */
    @Test
    void elementwiseFloorsCountBytesReadAndWrittenOnce() {
        assertEquals(32 * 2 * (4 + 2) * 4096 / BYTES, floor(LinearKernel.NORM, 1), 1e-18, "f32 in, bf16 out, twice");
        assertEquals(32 * 2 * 3 * 14336 / BYTES, floor(LinearKernel.SWIGLU, 1), 1e-18, "gate and up in, one out");
        assertEquals(32 * 2 * 2 * 6144 / BYTES, floor(LinearKernel.ROPE_KV_WRITE, 1), 1e-18, "Q, K, V in and out");
        assertEquals((2 + 4) * 4096 / BYTES, floor(LinearKernel.EMBEDDING, 1), 1e-18, "bf16 row in, f32 out");
        // one kept row: reading the classifier's bf16 weights bounds it, not its FLOPs
        assertEquals(2.0 * 4096 * 128256 / BYTES, floor(LinearKernel.LM_HEAD, 131072), 1e-15);
    }

    /**
     * Prints the floors of synthetic:llama3-8b at the benchmarked lengths (BENCHMARKS.md quotes them): the
     * elementwise kernels' floor is about 6 % of the GEMMs', so a linear part within 15 % of the GEMM floor needs
     * the GEMMs near their rate and the elementwise kernels near bandwidth.
     */
    @Test
    void elementwiseFloorsAreASmallShareOfTheGemms() {
        for (long tokens : new long[] {32768, 131072, 262144}) {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%dK:", tokens / 1024));
            double gemms = 0, elementwise = 0;
            for (LinearKernel kernel : LinearKernel.values()) {
                double s = floor(kernel, tokens);
                if (kernel.gemm()) gemms += s; else elementwise += s;
                line.append(String.format(Locale.ROOT, " %s %.4f s,", kernel.label(), s));
            }
            System.out.println(line.append(String.format(Locale.ROOT, " GEMMs %.4f s, elementwise %.4f s",
                    gemms, elementwise)));
            assertTrue(elementwise < 0.07 * gemms && elementwise > 0.05 * gemms, line.toString());
        }
    }
}
