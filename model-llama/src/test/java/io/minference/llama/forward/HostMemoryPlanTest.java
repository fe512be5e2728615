package io.minference.llama.forward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.runtime.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class HostMemoryPlanTest {
    private static final LlamaConfig LLAMA3_8B = new LlamaConfig(4096, 14336, 32, 32, 8, 128256, 1 << 20, 500000f,
            1e-5f);

    @Test
    void theKvCacheIsWhatKvCacheAllocates() {
        HostMemoryPlan plan = HostMemoryPlan.of(LLAMA3_8B, 8192, 128, 2);
        // 32 layers × (keys + values) × 8192 positions × 1024 floats
        assertEquals(32L * 2 * 8192 * 1024 * 4, plan.kvCacheBytes());
        assertEquals(2L << 30, plan.kvCacheBytes());
        assertTrue(plan.activationBytes() > 4L * 128 * 4096 * 3, "activations: " + plan);
        assertTrue(plan.totalBytes() < (3L << 30), "an 8K sequence of an 8B model fits in 3 GiB: " + plan);
    }

    @Test
    void aRunThatCannotFitIsRefusedWithItsSizes() {
        HostMemoryPlan plan = HostMemoryPlan.of(LLAMA3_8B, 1 << 20, 128, 2);
        var e = assertThrows(IllegalArgumentException.class,
                () -> plan.requireFits(24L << 30, "a sequence of 1048576 positions"));
        assertTrue(e.getMessage().startsWith("a sequence of 1048576 positions needs 256."), e.getMessage());
        assertTrue(e.getMessage().contains("only 24.00 GiB is available"), e.getMessage());
        assertTrue(e.getMessage().contains("KV cache 256.00 GiB"), e.getMessage());
        plan.requireFits(300L << 30, "the same on a larger host");
    }

    @Test
    void theForwardPassChecksBeforeAllocating() {
        LlamaConfig config = RandomLlama.smallConfig(Integer.MAX_VALUE);
        try (LlamaWeights weights = RandomLlama.weights(config, 1, true, false); CpuBackend backend = new CpuBackend(1)) {
            // 2 layers × 2 × 2^31 positions × 32 floats: a terabyte of KV cache
            var e = assertThrows(IllegalArgumentException.class,
                    () -> new LlamaForward(config, weights, backend, Integer.MAX_VALUE));
            assertTrue(e.getMessage().contains("of host memory but only"), e.getMessage());
            try (LlamaForward small = new LlamaForward(config, weights, backend, 64)) {
                assertEquals(64, small.capacity());
            }
        }
    }
}
