package io.minference.llama.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.config.KvCacheType;
import io.minference.config.KvOffload;
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

    /** What a decode step at 128K reads of the cache, per format: bf16 rows; 8-bit codes, scales and bf16 tails. */
    @Test
    void theCacheADecodeStepReadsCountsScalesAndTails() {
        int length = 131072;
        assertEquals(16L << 30, GpuMemoryPlan.kvCacheBytes(LLAMA3_8B, length, KvCacheType.BF16));
        long codes = 32L * 2 * length * 1024;
        long tails = 32L * 2 * 2 * 64 * 1024;
        // per layer and block: e4m3 a scale per KV head for K and for V (8 + 8)
        long e4m3Scales = 32L * 4 * (length / 64) * (8 + 8);
        assertEquals(codes + e4m3Scales + tails, GpuMemoryPlan.kvCacheBytes(LLAMA3_8B, length, KvCacheType.FP8));
        // int8: K a scale per 16 channels of each of 8 KV heads of 128 (64), V one per KV head (8)
        long int8Scales = 32L * 4 * (length / 64) * (8 * 128 / 16 + 8);
        assertEquals(codes + int8Scales + tails, GpuMemoryPlan.kvCacheBytes(LLAMA3_8B, length, KvCacheType.INT8));
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

    @Test
    void aMillionTokensWithAnFp8CacheAndSparsePrefillFit130GiBWithEveryPartStated() {
        int million = 1 << 20;
        GpuMemoryPlan plan = GpuMemoryPlan.of(LLAMA3_8B, false, million, 64, GpuLlamaForward.DEFAULT_CHUNK_SIZE,
                KvCacheType.FP8, true);
        System.out.println("synthetic:llama3-8b, 1M tokens, FP8 KV, sparse prefill: " + plan.describe());
        // FP8 codes: 32 layers x 2 x (1M + 64) positions x 1024 bytes = 64 GiB, plus scales and bf16 tails
        long codes = 32L * 2 * (million + 64) * 1024;
        long scales = 32L * 2 * 4 * ((million + 64 + 63) / 64) * 8;
        long tails = 32L * 2 * 2 * 64 * 1024;
        assertEquals(codes + scales + tails, plan.kvCacheBytes());
        // int8 codes: the same bytes, and a key scale per 16 channels (64 a block and layer, not 8)
        GpuMemoryPlan int8 = GpuMemoryPlan.of(LLAMA3_8B, false, million, 64, GpuLlamaForward.DEFAULT_CHUNK_SIZE,
                KvCacheType.INT8, true);
        long int8Scales = 32L * 4 * ((million + 64 + 63) / 64) * (64 + 8);
        assertEquals(codes + int8Scales + tails, int8.kvCacheBytes());
        assertTrue(int8.totalBytes() <= 130L << 30, "int8 at 1M within 130 GiB: " + int8.describe());
        GpuMemoryPlan.PromptBuffers p = plan.prompt();
        assertEquals(16L << 30, p.hidden(), "f32 hidden state of 1M x 4096");
        assertEquals(8L << 30, p.queries());
        assertEquals(8L << 30, p.attended());
        assertEquals(4L << 30, p.layerKv(), "one layer's bf16 K and V of 1M x 1024");
        assertTrue(p.sparseScratch() > 2L << 30 && p.sparseScratch() < 3L << 30, plan.describe());
        // 8192-token chunks of the MLP intermediate and the QKV projection: about 1 GiB, independent of the length
        assertTrue(plan.activationBytes() < 3L << 29, "chunked activations stay below 1.5 GiB: " + plan.describe());
        assertTrue(plan.totalBytes() <= 130L << 30, plan.describe());
        plan.requireFits(130L << 30, "synthetic:llama3-8b with 1048576 tokens");
        String described = plan.describe();
        for (String part : new String[] {"weights", "KV cache 64.", "activations", "hidden state 16.00 GiB",
                "one layer's bf16 K/V 4.00 GiB", "sparse estimation and index", "workspaces", "total"}) {
            assertTrue(described.contains(part), part + " in " + described);
        }
        GpuMemoryPlan bf16 = GpuMemoryPlan.of(LLAMA3_8B, false, million, 64, GpuLlamaForward.DEFAULT_CHUNK_SIZE,
                KvCacheType.BF16, true);
        assertTrue(bf16.totalBytes() > 141L << 30, "a bf16 cache does not fit an H200 at 1M: " + bf16.describe());
    }

    @Test
    void anOffloadedCacheKeepsTwoLayersOnTheDeviceAndEveryLayerOnTheHost() {
        int million = 1 << 20;
        GpuMemoryPlan resident = GpuMemoryPlan.of(LLAMA3_8B, false, million, 64, GpuLlamaForward.DEFAULT_CHUNK_SIZE,
                KvCacheType.FP8, true);
        GpuMemoryPlan offloaded = GpuMemoryPlan.of(LLAMA3_8B, false, million, 64,
                GpuLlamaForward.DEFAULT_CHUNK_SIZE, KvCacheType.FP8, KvOffload.HOST, true);
        System.out.println("synthetic:llama3-8b, 1M tokens, FP8 KV offloaded: " + offloaded.describe());
        assertTrue(offloaded.offloaded() && !resident.offloaded());
        assertEquals(resident.kvCacheBytes() / 16, offloaded.kvCacheBytes(), "2 of 32 layers on the device");
        assertEquals(resident.kvCacheBytes(), offloaded.hostKvBytes(), "every layer in pinned host memory");
        assertEquals(resident.prompt(), offloaded.prompt(), "the same whole-prompt buffers");
        String described = offloaded.describe();
        assertTrue(described.contains("(two layers' slots)") && described.contains("pinned host memory: every"
                + " layer's KV cache 64."), described);
        assertTrue(resident.totalBytes() - offloaded.totalBytes() > 60L << 30, described);

        // A bf16 cache, dense: the chunked prefill gives way to a layer-major one, whose K/V are the slots.
        GpuMemoryPlan bf16 = GpuMemoryPlan.of(LLAMA3_8B, false, 131072, 64, GpuLlamaForward.DEFAULT_CHUNK_SIZE,
                KvCacheType.BF16, KvOffload.HOST, false);
        assertEquals(2L * 2 * (131072 + 64) * 1024 * 2, bf16.kvCacheBytes());
        assertEquals(16L * bf16.kvCacheBytes(), bf16.hostKvBytes());
        assertEquals(0, bf16.prompt().layerKv(), "no layer buffer beside the slots");
        assertTrue(bf16.prompt().hidden() > 0, "layer-major: the whole prompt's hidden state");
        assertEquals(0, GpuMemoryPlan.of(LLAMA3_8B, false, 131072, 64, GpuLlamaForward.DEFAULT_CHUNK_SIZE,
                KvCacheType.BF16, false).hostKvBytes());
    }

    @Test
    void anOffloadedCacheThatTheHostCannotHoldIsRefusedNamingBothSizes() {
        GpuMemoryPlan plan = GpuMemoryPlan.of(LLAMA3_8B, false, 1 << 20, 64, GpuLlamaForward.DEFAULT_CHUNK_SIZE,
                KvCacheType.BF16, KvOffload.HOST, false);
        plan.requireHostFits(200L << 30, "fits");
        var e = assertThrows(IllegalArgumentException.class, () -> plan.requireHostFits(100L << 30,
                "synthetic:llama3-8b with 1048576 tokens"));
        assertEquals("synthetic:llama3-8b with 1048576 tokens with --kv-offload host needs 128.01 GiB of pinned host"
                + " memory for the KV cache but only 100.00 GiB is available; ask for fewer tokens (an 8-bit cache,"
                + " --kv-cache int8 or fp8, takes about half a bf16 one's bytes)", e.getMessage());
        GpuMemoryPlan.of(LLAMA3_8B, false, 1 << 20, 64, GpuLlamaForward.DEFAULT_CHUNK_SIZE, KvCacheType.BF16, false)
                .requireHostFits(0, "without offload nothing goes to the host");
    }
}
