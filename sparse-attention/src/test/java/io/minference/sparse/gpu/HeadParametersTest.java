package io.minference.sparse.gpu;

import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The per-head words the estimation kernels read. */
class HeadParametersTest {
    @Test
    void encodesEveryPattern() {
        List<HeadPattern> patterns = List.of(new HeadPattern.Dense(), new HeadPattern.AShape(4, 100),
                new HeadPattern.VerticalSlash(Budget.topK(1000), Budget.topK(6096)),
                new HeadPattern.BlockSparse(Budget.topK(8)),
                new HeadPattern.VerticalSlash(Budget.topK(30), Budget.topK(800)));
        HeadParameters all = HeadParameters.encode(patterns, 0, 5, 4099);
        assertArrayEquals(new int[] {
                0, 0, 0, 0, 0, 0, 0, 0,
                1, 4, 100, 0, 0, 0, 0, 0,
                2, 0, 1000, 0, 6096, 0, 0, 0,
                3, 0, 8, 0, 0, 0, 0, 0,
                2, 0, 30, 0, 800, 0, 0, 0}, all.words());
        HeadParameters tail = HeadParameters.encode(patterns, 3, 2, 4099);
        assertEquals(3, tail.code(0));
        assertEquals(2, tail.code(1));
    }

    @Test
    void massBudgetsAreEncodedAsFloatBits() {
        HeadParameters mass = HeadParameters.encode(List.of(
                new HeadPattern.VerticalSlash(Budget.mass(0.9), Budget.topK(100)),
                new HeadPattern.BlockSparse(Budget.mass(0.5))), 0, 2, 1000);
        assertEquals(1, mass.words()[1]);
        assertEquals(Float.floatToRawIntBits(0.9f), mass.words()[2]);
        assertEquals(1, mass.words()[9]);
        assertEquals(Float.floatToRawIntBits(0.5f), mass.words()[10]);
    }

    @Test
    void customPatternsHaveNoGpuBuilder() {
        var e = assertThrows(IllegalArgumentException.class, () -> HeadParameters.encode(
                List.of(new HeadPattern.Custom("stripes", Map.of("width", "3"))), 0, 1, 64));
        assertTrue(e.getMessage().contains("stripes") && e.getMessage().contains("head 0"), e.getMessage());
    }
}
