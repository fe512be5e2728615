package io.minference.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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
    void manySmallLoopsInARowEachVisitEveryIndexOnce() {
        // the hand-off between loops: workers spinning on one loop must neither miss nor repeat the next one's items
        try (CpuBackend backend = new CpuBackend(3)) {
            for (int loop = 0; loop < 5000; loop++) {
                AtomicIntegerArray visits = new AtomicIntegerArray(1 + loop % 9);
                backend.parallelFor(visits.length(), visits::incrementAndGet);
                for (int i = 0; i < visits.length(); i++) assertEquals(1, visits.get(i), "loop " + loop + " index " + i);
            }
        }
    }

    @Test
    void aWorkerTakesItemsBesideTheCaller() throws InterruptedException {
        try (CpuBackend backend = new CpuBackend(2)) {
            Thread.sleep(50); // long enough for the worker to stop spinning and park: the loop must wake it
            CountDownLatch both = new CountDownLatch(2);
            Set<Thread> seen = ConcurrentHashMap.newKeySet();
            backend.parallelFor(2, i -> {
                seen.add(Thread.currentThread());
                both.countDown();
                try {
                    assertTrue(both.await(30, TimeUnit.SECONDS), "the second item never ran beside the first");
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            assertEquals(2, seen.size(), "threads that ran the two items: " + seen);
        }
    }

    @Test
    void loopsFromTwoThreadsAtOnceBothComplete() throws InterruptedException {
        try (CpuBackend backend = new CpuBackend(2)) {
            AtomicIntegerArray visits = new AtomicIntegerArray(2 * 200 * 16);
            Thread[] callers = new Thread[2];
            for (int c = 0; c < 2; c++) {
                int caller = c;
                callers[c] = new Thread(() -> {
                    for (int loop = 0; loop < 200; loop++) {
                        int base = (caller * 200 + loop) * 16;
                        backend.parallelFor(16, i -> visits.incrementAndGet(base + i));
                    }
                });
                callers[c].start();
            }
            for (Thread t : callers) t.join(60_000);
            for (int i = 0; i < visits.length(); i++) assertEquals(1, visits.get(i), "index " + i);
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
            // and the next loop runs whole
            AtomicIntegerArray visits = new AtomicIntegerArray(10);
            backend.parallelFor(10, visits::incrementAndGet);
            for (int i = 0; i < 10; i++) assertEquals(1, visits.get(i), "index " + i);
        }
    }

    @Test
    void rejectsZeroThreads() {
        assertThrows(IllegalArgumentException.class, () -> new CpuBackend(0));
    }
}
