package io.minference.runtime;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The /proc readings that memory plans and load benchmarks rely on. */
class HostMemoryTest {
    @Test
    void anonymousResidentMemoryGrowsWithTouchedNativeMemory() {
        long before = HostMemory.residentAnonymousBytes().orElseThrow();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment block = arena.allocate(128L << 20);
            block.fill((byte) 1); // touch every page
            long during = HostMemory.residentAnonymousBytes().orElseThrow();
            assertTrue(during - before >= 96L << 20, "RssAnon grew by " + ((during - before) >> 20) + " MiB for 128");
        }
    }

    @Test
    void availableMemoryIsReported() {
        assertTrue(HostMemory.availableBytes().orElseThrow() > 0);
    }
}
