package io.minference.llama.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LlamaConfig;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.BFloat16;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class Bf16PackingTest {
    @Test
    void stacksBlocksRowWiseAndZeroPads() {
        try (Tensor a = Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
             Tensor b = Tensor.ofFloats(new float[] {0.1f, -7.5f, 1e-3f}, 1, 3);
             Tensor packed = Bf16Packing.stack(4, 4, new long[] {0, 2}, a, b)) {
            assertEquals(DType.BF16, packed.dtype());
            float[][] expected = {{1, 2, 3, 0}, {4, 5, 6, 0}, {0.1f, -7.5f, 1e-3f, 0}, {0, 0, 0, 0}};
            for (int r = 0; r < 4; r++) {
                for (int c = 0; c < 4; c++) {
                    short bits = packed.data().getAtIndex(ValueLayout.JAVA_SHORT, r * 4L + c);
                    assertEquals(BFloat16.round(expected[r][c]), BFloat16.toFloat(bits), "element " + r + "," + c);
                }
            }
        }
    }

    @Test
    void refusesBlocksThatDoNotFit() {
        try (Tensor a = Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3)) {
            var e = assertThrows(IllegalArgumentException.class, () -> Bf16Packing.stack(2, 3, new long[] {1}, a));
            assertTrue(e.getMessage().contains("cannot pack"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Bf16Packing.padded(a, 2));
        }
    }

    @Test
    void padsTheHiddenSizeToAMultipleOfEightAndRefusesOddWidths() {
        LlamaConfig stories = new LlamaConfig(64, 172, 5, 8, 4, 512, 512, 10000f, 1e-5f);
        assertEquals(176, GpuLlamaWeights.paddedHidden(stories));
        assertEquals(176, GpuLlamaWeights.paddedHidden(new LlamaConfig(64, 176, 5, 8, 4, 512, 512, 10000f, 1e-5f)));
        LlamaConfig narrowHeads = new LlamaConfig(48, 128, 1, 12, 4, 16, 16, 10000f, 1e-5f);
        var e = assertThrows(IllegalArgumentException.class, () -> GpuLlamaWeights.requireKernelShapes(narrowHeads));
        assertTrue(e.getMessage().contains("multiples of 8"), e.getMessage());
    }
}
