package io.minference.app.server;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Lets one generation run at a time, with at most {@code queueCapacity} more waiting their turn, in arrival order; a
 * request beyond that is refused at once with a 503, so that a burst of clients cannot pile up without bound. A
 * waiting request whose client leaves gives up its place, so that the queue counts only clients still there.
 *
 * <p>Generations run on the gate's one platform thread, not on the request's (virtual) thread: a CUDA context is
 * current per OS thread, and a virtual thread may move to another carrier between two launches.
 */
final class GenerationGate implements AutoCloseable {
    private static final long WAIT_POLL_MILLIS = 50;

    private final int queueCapacity;
    private final Semaphore turn = new Semaphore(1, true);
    private final AtomicInteger admitted = new AtomicInteger();
    private final ExecutorService generationThread = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("minference-generation").daemon().factory());

    GenerationGate(int queueCapacity) {
        if (queueCapacity < 0) throw new IllegalArgumentException("queue capacity must be >= 0, got " + queueCapacity);
        this.queueCapacity = queueCapacity;
    }

    /** A place in the gate; closing it leaves the queue or ends the turn. */
    final class Ticket implements AutoCloseable {
        private boolean running;
        private boolean closed;

        /**
         * Waits for this ticket's turn, then runs {@code work} on the generation thread and returns its result.
         *
         * @param leave asked while waiting: true when the request no longer wants its turn (its client left, its
         *              deadline passed)
         * @throws GenerationCancelledException when {@code leave} said so before the turn came
         */
        <T> T run(Cancellation leave, Supplier<T> work) throws InterruptedException {
            while (!turn.tryAcquire(WAIT_POLL_MILLIS, TimeUnit.MILLISECONDS)) {
                if (leave.isCancelled()) throw new GenerationCancelledException();
            }
            running = true;
            Future<T> result = generationThread.submit(work::get);
            try {
                return awaitUninterruptibly(result);
            } catch (ExecutionException e) {
                switch (e.getCause()) {
                    case RuntimeException r -> throw r;
                    case Error r -> throw r;
                    default -> throw new IllegalStateException(e.getCause());
                }
            }
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            if (running) turn.release();
            admitted.decrementAndGet();
        }
    }

    /**
     * The turn is held until the work ends, even when the request's thread is interrupted: the work stops at its
     * own cancellation, and a second generation must not start beside it.
     */
    private static <T> T awaitUninterruptibly(Future<T> result) throws ExecutionException {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return result.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    /** A ticket, or a 503 when one generation runs and the queue is full. */
    Ticket enter() {
        if (admitted.incrementAndGet() > 1 + queueCapacity) {
            admitted.decrementAndGet();
            throw new ApiException(503, "server_busy", null, "the server is busy: one generation is running and "
                    + queueCapacity + " are queued; try again later");
        }
        return new Ticket();
    }

    /** Generations running (0 or 1). */
    int running() {
        return 1 - turn.availablePermits();
    }

    /** Requests admitted and not yet running. */
    int queued() {
        return Math.max(0, admitted.get() - running());
    }

    @Override
    public void close() {
        generationThread.shutdownNow();
    }
}
