package io.minference.kernels.transformer;

import io.minference.runtime.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CpuArgmaxTest {
    private static final float NAN = Float.NaN;
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;

    @Test
    void tiesGoToTheLowestIndexAndNanNeverWins() {
        assertEquals(1, CpuArgmax.argmax(new float[] {1, 3, 2, 3}, 0, 4));
        assertEquals(2, CpuArgmax.argmax(new float[] {NAN, 1, 5, NAN, 5}, 0, 5));
        assertEquals(-1, CpuArgmax.argmax(new float[] {NAN, NAN}, 0, 2));
        assertEquals(0, CpuArgmax.argmax(new float[] {NEG_INF, NEG_INF}, 0, 2));
        assertEquals(2, CpuArgmax.argmax(new float[] {9, NAN, -2, 0}, 1, 3), "index relative to from");
    }

    @Test
    void rowsOfATensor() {
        try (Tensor logits = Tensor.ofFloats(new float[] {0, 2, 1, 7, 7, -1}, 2, 3)) {
            assertArrayEquals(new int[] {1, 0}, CpuArgmax.apply(logits, 2));
            assertThrows(IllegalArgumentException.class, () -> CpuArgmax.apply(logits, 3));
        }
    }
}
