package io.minference.app.server;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Lets one generation run at a time, with at most {@code queueCapacity} more waiting their turn, in arrival order; a
 * request beyond that is refused at once with a 503, so that a burst of clients cannot pile up without bound.
 */
final class GenerationGate {
    private final int queueCapacity;
    private final Semaphore turn = new Semaphore(1, true);
    private final AtomicInteger admitted = new AtomicInteger();

    GenerationGate(int queueCapacity) {
        if (queueCapacity < 0) throw new IllegalArgumentException("queue capacity must be >= 0, got " + queueCapacity);
        this.queueCapacity = queueCapacity;
    }

    /** A place in the gate; closing it leaves the queue or ends the turn. */
    final class Ticket implements AutoCloseable {
        private boolean running;
        private boolean closed;

        /** Blocks until it is this ticket's turn. */
        void awaitTurn() throws InterruptedException {
            turn.acquire();
            running = true;
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            if (running) turn.release();
            admitted.decrementAndGet();
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
}
