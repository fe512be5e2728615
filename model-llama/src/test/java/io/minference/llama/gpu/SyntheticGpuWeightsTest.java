package io.minference.llama.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LlamaWeights;
import io.minference.llama.synthetic.SyntheticModel;
import io.minference.llama.synthetic.SyntheticShape;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.GpuTests;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Weights made on the device equal the CPU generator's weights uploaded, bit for bit, and run the same model. */
@Tag("gpu")
class SyntheticGpuWeightsTest {
    private static CudaBackend gpu;

    @BeforeAll
    static void open() {
        gpu = GpuTests.openOrSkip();
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
    }

    @Test
    void deviceWeightsEqualUploadedHostWeights() {
        SyntheticShape shape = SyntheticShape.parse("tiny").withSeed(new SplittableRandom().nextLong());
        try (LlamaWeights host = SyntheticModel.create(shape, ProgressListener.NONE);
             GpuLlamaWeights uploaded = GpuLlamaWeights.upload(gpu.context(), shape.config(), host);
             GpuLlamaWeights made = SyntheticGpuWeights.generate(gpu, shape)) {
            assertSameBytes("token embedding", uploaded.tokenEmbedding(), made.tokenEmbedding());
            assertSameBytes("classifier", uploaded.classifier(), made.classifier());
            assertSameBytes("output norm", uploaded.outputNorm(), made.outputNorm());
            for (int l = 0; l < shape.config().numLayers(); l++) {
                GpuLayerWeights a = uploaded.layers().get(l);
                GpuLayerWeights b = made.layers().get(l);
                assertSameBytes(l + " attention norm", a.attentionNorm(), b.attentionNorm());
                assertSameBytes(l + " wqkv", a.wqkv(), b.wqkv());
                assertSameBytes(l + " wo", a.wo(), b.wo());
                assertSameBytes(l + " ffn norm", a.ffnNorm(), b.ffnNorm());
                assertSameBytes(l + " gate/up", a.wGateUp(), b.wGateUp());
                assertSameBytes(l + " down", a.wDown(), b.wDown());
            }
        }
    }

    private static void assertSameBytes(String what, DeviceTensor expected, DeviceTensor actual) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        try (Tensor e = expected.download(); Tensor a = actual.download()) {
            byte[] eb = e.data().asSlice(0, expected.byteSize()).toArray(ValueLayout.JAVA_BYTE);
            byte[] ab = a.data().asSlice(0, actual.byteSize()).toArray(ValueLayout.JAVA_BYTE);
            assertTrue(eb.length > 0, what);
            assertArrayEquals(eb, ab, what + ": device-made weights differ from the uploaded CPU weights");
        }
    }
}
