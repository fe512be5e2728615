package io.minference.llama.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LlamaConfig;
import io.minference.llama.synthetic.SyntheticShape;
import org.junit.jupiter.api.Test;

class GpuMemoryPlanTest {
    private static final LlamaConfig LLAMA3_8B = SyntheticShape.parse("llama3-8b").config();

    @Test
    void llama3_8bWeightsAreItsParameterCountInBf16() {
        long weights = GpuMemoryPlan.weightBytes(LLAMA3_8B, false);
        // LLaMA-3-8B has 8.03e9 parameters; all but the norms are bf16.
        assertEquals(8.03e9, weights / 2.0, 0.01e9);
    }

    @Test
    void kvCacheOf128kTokensIs16GiB() {
        assertEquals(16L << 30, GpuMemoryPlan.kvCacheBytes(LLAMA3_8B, 131072));
    }

    @Test
    void a128kPrefillFitsAnH100ButAMillionTokensDoNot() {
        GpuMemoryPlan plan = GpuMemoryPlan.of(LLAMA3_8B, false, 131072 + 16, 2048, 0);
        assertTrue(plan.totalBytes() < 60e9, "128K prefill plan " + plan);
        GpuMemoryPlan huge = GpuMemoryPlan.of(LLAMA3_8B, false, 1 << 20, 2048, 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> huge.requireFits(80L << 30, "synthetic:llama3-8b with 1048576 tokens"));
        assertTrue(e.getMessage().startsWith("synthetic:llama3-8b with 1048576 tokens needs 143."), e.getMessage());
        assertTrue(e.getMessage().contains("KV cache 128.00 GiB"), e.getMessage());
        assertTrue(e.getMessage().contains("only 80.00 GiB is free"), e.getMessage());
    }

    @Test
    void sequenceCheckLeavesResidentWeightsOut() {
        GpuMemoryPlan plan = GpuMemoryPlan.of(LLAMA3_8B, false, 131072, 2048, 0);
        plan.requireSequenceFits(plan.totalBytes() - plan.weightBytes(), "a sequence");
        assertThrows(IllegalArgumentException.class,
                () -> plan.requireSequenceFits(plan.totalBytes() - plan.weightBytes() - 1, "a sequence"));
    }
}
