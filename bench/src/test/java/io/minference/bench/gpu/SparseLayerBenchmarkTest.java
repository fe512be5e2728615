package io.minference.bench.gpu;

import io.minference.bench.LayerArgumentsTest;
import io.minference.kernels.flash.HopperFlashLoop;
import io.minference.sparse.gpu.GatherArrival;
import io.minference.sparse.gpu.HopperSparseFlashPrefill;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The layer benchmark's arguments (no GPU): its options anywhere, its variants, and each malformed one named. */
class SparseLayerBenchmarkTest {
    @TempDir
    Path dir;

    private String patterns() throws IOException {
        return LayerArgumentsTest.twoLayers(dir).toString();
    }

    @Test
    void variantsAreTimedInTheOrderGiven() throws IOException {
        SparseLayerBenchmark benchmark = SparseLayerBenchmark.parse(new String[] {patterns(), "1", "--variants",
                "default|range-box=16|gather=warp schedule=lazy,warp range-box=16", "131072"});
        HopperSparseFlashPrefill.Variant base = HopperSparseFlashPrefill.Variant.DEFAULT;
        assertEquals(List.of(base, base.withRangeBox(16), base.withRangeBox(16).withGather(GatherArrival.WARP)
                .withSchedule(HopperFlashLoop.Schedule.parse("lazy,warp"))),
                benchmark.variants());
        assertEquals(List.of(HopperSparseFlashPrefill.Variant.configured()),
                SparseLayerBenchmark.parse(new String[] {patterns(), "0"}).variants(), "the properties' variant");
    }

    @Test
    void dumpNamesTheInputsDirectory() throws IOException {
        assertEquals(new SparseLayerBenchmark.InputDump(dir.resolve("inputs")), SparseLayerBenchmark.parse(
                new String[] {patterns(), "1", "--dump", dir.resolve("inputs").toString(), "8192"}).dump());
        assertEquals(SparseLayerBenchmark.InputDump.NONE, SparseLayerBenchmark.parse(
                new String[] {patterns(), "1", "8192"}).dump(), "nothing written unless asked");
    }

    @Test
    void estimationOnlyIsAFlagAnywhereAmongTheArguments() throws IOException {
        assertTrue(SparseLayerBenchmark.parse(new String[] {patterns(), "--estimation-only", "1", "8192"})
                .estimationOnly());
        assertFalse(SparseLayerBenchmark.parse(new String[] {patterns(), "1", "8192"}).estimationOnly(),
                "the whole layer unless asked");
    }

    @Test
    void malformedArgumentsAreNamed() throws IOException {
        String file = patterns();
        List<String[]> bad = List.of(new String[] {file}, new String[] {file, "1", "--variants"},
                new String[] {file, "1", "--dump"},
                new String[] {file, "1", "--variants", "range-box=12"},
                new String[] {file, "1", "--variants", "default|boxes=16"},
                new String[] {file, "1", "--fallback", "most"}, new String[] {file, "1", "--fast", "yes"},
                new String[] {file, "3"}, new String[] {file, "1", "128k"});
        List<String> expected = List.of("usage", "--variants wants a value", "--dump wants a value",
                "minference.sparse.range-box must be", "'boxes=16'", "--fallback must be", "unknown option --fast", "layers 0 to 1", "whole number");
        for (int i = 0; i < bad.size(); i++) {
            String[] args = bad.get(i);
            var e = assertThrows(IllegalArgumentException.class, () -> SparseLayerBenchmark.parse(args));
            assertTrue(e.getMessage().contains(expected.get(i)), e.getMessage());
        }
    }
}
