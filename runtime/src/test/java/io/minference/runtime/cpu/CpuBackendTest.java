package io.minference.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class CpuBackendTest {
    @Test
    void parallelForVisitsEveryIndexOnce() {
        try (CpuBackend backend = new CpuBackend(4)) {
            AtomicIntegerArray visits = new AtomicIntegerArray(1000);
            backend.parallelFor(1000, visits::incrementAndGet);
            for (int i = 0; i < 1000; i++) assertEquals(1, visits.get(i), "index " + i);
        }
    }

    @Test
    void parallelForNestedRunsInline() {
        try (CpuBackend backend = new CpuBackend(2)) {
            AtomicIntegerArray visits = new AtomicIntegerArray(64);
            backend.parallelFor(8, i -> backend.parallelFor(8, j -> visits.incrementAndGet(i * 8 + j)));
            for (int i = 0; i < 64; i++) assertEquals(1, visits.get(i));
        }
    }

    @Test
    void parallelForRethrowsFailures() {
        try (CpuBackend backend = new CpuBackend(2)) {
            IllegalStateException boom = new IllegalStateException("boom");
            var e = assertThrows(IllegalStateException.class, () -> backend.parallelFor(10, i -> {
                if (i == 7) throw boom;
            }));
            assertSame(boom, e);
        }
    }

    @Test
    void rejectsZeroThreads() {
        assertThrows(IllegalArgumentException.class, () -> new CpuBackend(0));
    }
}
