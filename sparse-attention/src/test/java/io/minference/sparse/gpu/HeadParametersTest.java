package io.minference.sparse.gpu;

import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The per-head words the estimation kernels read, and the index capacities the doc prescribes. */
class HeadParametersTest {
    @Test
    void encodesEveryPatternAndTheCapacitiesOfTheBatch() {
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
        assertEquals(65, all.maxRanges(), "min(6096, 65 query blocks)");
        assertEquals(1000, all.maxColumns());
        assertFalse(all.needsKeptCounts());

        HeadParameters tail = HeadParameters.encode(patterns, 3, 2, 4099);
        assertEquals(3, tail.code(0));
        assertEquals(2, tail.code(1));
        assertEquals(65, tail.maxRanges(), "min(800, 65)");
        assertEquals(30, tail.maxColumns());

        HeadParameters shortPrompt = HeadParameters.encode(patterns, 2, 1, 100);
        assertEquals(2, shortPrompt.maxRanges());
        assertEquals(100, shortPrompt.maxColumns(), "the vertical budget clamped to L");
    }

    @Test
    void massBudgetsAreEncodedAsFloatBitsAndNeedTheKeptCounts() {
        HeadParameters mass = HeadParameters.encode(List.of(
                new HeadPattern.VerticalSlash(Budget.mass(0.9), Budget.topK(100)),
                new HeadPattern.BlockSparse(Budget.mass(0.5))), 0, 2, 1000);
        assertEquals(1, mass.words()[1]);
        assertEquals(Float.floatToRawIntBits(0.9f), mass.words()[2]);
        assertEquals(1, mass.words()[9]);
        assertEquals(Float.floatToRawIntBits(0.5f), mass.words()[10]);
        assertTrue(mass.needsKeptCounts());
        assertEquals(16, mass.maxRanges(), "min(100 diagonals, 16 query blocks)");
        assertEquals(8, HeadParameters.encode(List.of(new HeadPattern.BlockSparse(Budget.mass(0.5))), 0, 1, 1000)
                .maxRanges(), "a block-sparse mass budget may keep every other block of 16");
    }

    @Test
    void customPatternsHaveNoGpuBuilder() {
        var e = assertThrows(IllegalArgumentException.class, () -> HeadParameters.encode(
                List.of(new HeadPattern.Custom("stripes", Map.of("width", "3"))), 0, 1, 64));
        assertTrue(e.getMessage().contains("stripes") && e.getMessage().contains("head 0"), e.getMessage());
    }
}
