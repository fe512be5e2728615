package io.minference.llama.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.llama.LlamaWeights;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.CudaAvailability;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaDriver;
import io.minference.runtime.cuda.DeviceTensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The device upload of a model with every block type the device expands (and F16, F32, padded rows and columns),
 * through a staging buffer of a few rows so that the scratch is refilled many times: every device tensor equals,
 * bit for bit, what the same streaming gives on the host with the kernels' CPU twin.
 */
@Tag("gpu")
class QuantizedUploadGpuTest {
    @Test
    void deviceExpandedWeightsEqualTheHostTwin() {
        CudaAvailability availability = CudaDriver.availability();
        assumeTrue(availability.available(), () -> "no usable CUDA device: " + availability.reason());
        long seed = System.nanoTime();
        var config = WeightStreamingTest.MIXED_TYPES;
        WeightStreamingTest.HostSink host = new WeightStreamingTest.HostSink();
        try (CudaBackend gpu = CudaBackend.open(0);
             LlamaWeights weights = WeightStreamingTest.mixedTypes(new SplittableRandom(seed))) {
            String context = "seed " + seed + " on " + gpu.device().name();
            System.out.println("quantized upload, " + context);
            long staging = 4L * 2 * GpuLlamaWeights.paddedHidden(config);
            WeightStreaming.Model<Tensor> expected = WeightStreaming.stream(config, weights, host, staging);
            try (GpuLlamaWeights device = GpuLlamaWeights.upload(gpu.context(), config, weights, staging)) {
                assertSameBytes("token_embd " + context, expected.embedding(), device.tokenEmbedding());
                assertSameBytes("output " + context, expected.classifier(), device.classifier());
                var e = expected.layers().getFirst();
                GpuLayerWeights d = device.layers().getFirst();
                assertSameBytes("attn_qkv " + context, e.wqkv(), d.wqkv());
                assertSameBytes("attn_output " + context, e.wo(), d.wo());
                assertSameBytes("ffn_gate_up " + context, e.wGateUp(), d.wGateUp());
                assertSameBytes("ffn_down " + context, e.wDown(), d.wDown());
            }
        } finally {
            host.tensors.values().forEach(Tensor::close);
        }
    }

    private static void assertSameBytes(String what, Tensor expected, DeviceTensor actual) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        try (Tensor a = actual.download()) {
            assertEquals(-1, expected.data().asSlice(0, expected.byteSize()).mismatch(a.data().asSlice(0, a.byteSize())),
                    what + ": the device's bf16 differs from the host twin's");
        }
    }
}
