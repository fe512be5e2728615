package io.minference.runtime.cpu;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * The loop behind {@link CpuBackend#parallelFor}: worker threads that live as long as the backend and, after each
 * loop, spin for {@link #SPIN_NANOS} waiting for the next one before they park.
 *
 * <p>Why not a fork/join per loop: a decode token makes over a hundred products of a millisecond or less, one after
 * another, each one loop. Waking a parked thread took 80–120 µs here (a 2-vCPU virtual machine), and the caller
 * waited for the woken task even when it had run every item itself by then, so each product paid the wake-up in
 * full (BENCHMARKS.md, issue 14, "CPU decode: where the token's time goes"). A spinning worker sees the next loop
 * within a microsecond; between loops of one token the spin is short, and after a token's last loop it ends in a
 * park, so an idle backend burns at most {@link #SPIN_NANOS} per worker.
 */
final class ParallelLoop implements AutoCloseable {
    /** How long an idle worker polls for the next loop before parking: longer than the gaps between a token's loops. */
    private static final long SPIN_NANOS = 200_000;
    private final Worker[] workers;
    /** One loop at a time; a caller that finds it taken runs its loop alone instead of waiting. */
    private final ReentrantLock calls = new ReentrantLock();
    private volatile Loop current;
    private volatile boolean closed;

    ParallelLoop(int workerCount) {
        workers = new Worker[workerCount];
        for (int i = 0; i < workerCount; i++) {
            workers[i] = new Worker();
            workers[i].setName("minference-cpu-" + i);
            workers[i].setDaemon(true);
            workers[i].start();
        }
    }

    /**
     * Runs {@code body} for every index in [0, count) on the workers and the calling thread, and rethrows the first
     * failure. Returns false, having run nothing, when called from inside a loop of this backend (a worker, or the
     * caller within its own loop) or while another thread's loop runs: the caller then runs the loop alone.
     *
     * @throws RejectedExecutionException after {@link #close}, as an executor that was shut down does
     */
    boolean run(int count, IntConsumer body) {
        if (closed) throw new RejectedExecutionException("the CPU backend is closed");
        if (workers.length == 0 || Thread.currentThread() instanceof Worker w && w.owner() == this
                || calls.isHeldByCurrentThread() || !calls.tryLock()) {
            return false;
        }
        try {
            Loop loop = new Loop(count, body);
            current = loop;
            for (Worker w : workers) {
                if (w.parked) LockSupport.unpark(w);
            }
            loop.work();
            loop.awaitWorkers();
            loop.rethrow();
            return true;
        } finally {
            calls.unlock();
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Worker w : workers) LockSupport.unpark(w);
    }

    /** One call's items, handed out one at a time to whichever thread asks next. */
    private static final class Loop {
        private final int count;
        private final IntConsumer body;
        private final AtomicInteger next = new AtomicInteger();
        /** Threads inside {@link #work}: the caller waits until none is, so that every item has finished. */
        private final AtomicInteger working = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Loop(int count, IntConsumer body) {
            this.count = count;
            this.body = body;
        }

        void work() {
            // counted before taking an index, so that a caller who sees no one working knows every taken item is done
            working.incrementAndGet();
            try {
                for (int i; failure.get() == null && (i = next.getAndIncrement()) < count; ) body.accept(i);
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            } finally {
                working.decrementAndGet();
            }
        }

        void awaitWorkers() {
            for (int spins = 0; working.get() != 0; spins++) {
                if (spins < 100_000) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        }

        void rethrow() {
            switch (failure.get()) {
                case null -> { }
                case RuntimeException e -> throw e;
                case Error e -> throw e;
                case Throwable e -> throw new IllegalStateException(e);
            }
        }
    }

    private final class Worker extends Thread {
        /** Set just before parking; a caller that publishes a loop unparks the workers it finds parked. */
        volatile boolean parked;

        ParallelLoop owner() {
            return ParallelLoop.this;
        }

        @Override
        public void run() {
            Loop done = null;
            while (!closed) {
                Loop loop = current;
                if (loop != done) {
                    done = loop;
                    loop.work();
                    continue;
                }
                long start = System.nanoTime();
                while (current == done && !closed && System.nanoTime() - start < SPIN_NANOS) Thread.onSpinWait();
                if (current != done || closed) continue;
                parked = true;
                // published before parked was read by a caller, or seen here: a caller's unpark cannot be missed
                if (current == done && !closed) LockSupport.park(this);
                parked = false;
            }
        }
    }
}
