package io.minference.bench.gpu;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The copy benchmark's size: whole MiB, named in its title, anything else refused with the size it got. */
class DslCopyBandwidthBenchmarkTest {
    @Test
    void aSizeIsAWholeNumberOfMiB() {
        assertEquals("DSL copy bandwidth, 16 MiB", new DslCopyBandwidthBenchmark(16L << 20).name());
        assertEquals("DSL copy bandwidth, 1024 MiB", new DslCopyBandwidthBenchmark().name());
        assertDoesNotThrow(() -> new DslCopyBandwidthBenchmark(1L << 20));
        for (long bytes : new long[] {0, 1000, (1L << 20) + 4096, -(1L << 20)}) {
            var e = assertThrows(IllegalArgumentException.class, () -> new DslCopyBandwidthBenchmark(bytes));
            assertTrue(e.getMessage().contains(bytes + " bytes"), e.getMessage());
        }
    }
}
