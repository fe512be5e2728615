package io.minference.ptx.dsl;

/**
 * {@code mbarrier} (sm_90): split arrive/wait barriers in shared memory, the completion mechanism of TMA copies and
 * the full/empty signals of a producer-consumer stage ring. A barrier starts in phase 0; it completes a phase when
 * the expected number of threads have arrived and every byte announced with {@link #arriveExpectingBytes} has
 * landed, then starts the next phase. {@link #waitPhase} spins until the phase of the given parity has completed;
 * waiting for parity 1 on a fresh barrier returns at once (the phase "before" phase 0 counts as complete), which is
 * how a producer passes its first round of empty-stage waits.
 */
public interface MBarriers extends ControlFlow {
    /**
     * {@code mbarrier.init}: one thread sets up the barrier for {@code arrivals} arrivals per phase. Follow the
     * inits with {@link #fenceBarrierInit} and a block barrier before any other thread or the copy engine uses it.
     */
    default void initBarrier(MBarrier barrier, int arrivals) {
        if (arrivals < 1 || arrivals > (1 << 20) - 1) {
            throw new IllegalArgumentException("an mbarrier counts 1..2^20-1 arrivals, not " + arrivals);
        }
        emitter().instruction("mbarrier.init.shared::cta.b64", Address.shared(barrier.address()),
                Integer.toString(arrivals));
    }

    /** Makes initialised barriers visible to the async proxy (the TMA engine) before first use. */
    default void fenceBarrierInit() {
        emitter().instruction("fence.mbarrier_init.release.cluster");
    }

    /** {@code mbarrier.arrive}: this thread's arrival on the current phase. */
    default void arrive(MBarrier barrier) {
        B64 state = emitter().declare(new B64("arrival"));
        emitter().instruction("mbarrier.arrive.shared::cta.b64", state, Address.shared(barrier.address()));
    }

    /**
     * {@code mbarrier.expect_tx} (sm_90): announces that {@code bytes} more bytes must land on the current phase,
     * without arriving; for a source whose arrivals are counted per warp, where the thread issuing the copies arrives
     * with its warp.
     */
    default void expectBytes(MBarrier barrier, int bytes) {
        if (bytes < 0 || bytes > (1 << 20) - 1) {
            throw new IllegalArgumentException("an mbarrier transaction count is 0..2^20-1 bytes, not " + bytes);
        }
        emitter().instruction("mbarrier.expect_tx.relaxed.cta.shared::cta.b64", Address.shared(barrier.address()),
                Integer.toString(bytes));
    }

    /**
     * One arrival for the whole warp: its lanes synchronise ({@code bar.warp.sync}, which orders their earlier
     * memory accesses before what follows in any lane) and lane 0 arrives, with release semantics, for all of them.
     * A barrier counting per warp expects one such arrival per warp instead of one per thread, which keeps the
     * atomic traffic on the barrier word to a thirty-second. Every lane of the warp must call it.
     */
    default void arriveForWarp(MBarrier barrier, U32 lane) {
        arriveForWarp(barrier, lane, 1);
    }

    /**
     * {@link #arriveForWarp(MBarrier, U32)} counting {@code arrivals} arrivals at once ({@code mbarrier.arrive} with
     * a count, sm_90): for a warp that does alone what the barrier expects several warps to arrive for.
     */
    default void arriveForWarp(MBarrier barrier, U32 lane, int arrivals) {
        if (arrivals < 1 || arrivals > (1 << 20) - 1) {
            throw new IllegalArgumentException("an mbarrier arrival counts 1..2^20-1, not " + arrivals);
        }
        emitter().instruction("bar.warp.sync", "-1");
        Pred first = emitter().declare(new Pred("laneZero"));
        emitter().instruction("setp.eq.u32", first, lane, "0");
        B64 state = emitter().declare(new B64("arrival"));
        if (arrivals == 1) {
            emitter().guarded(first, false, "mbarrier.arrive.shared::cta.b64", state,
                    Address.shared(barrier.address()));
        } else {
            emitter().guarded(first, false, "mbarrier.arrive.shared::cta.b64", state,
                    Address.shared(barrier.address()), Integer.toString(arrivals));
        }
    }

    /**
     * {@code cp.async.mbarrier.arrive.noinc}: this thread's arrival, made by the copy engine once every
     * {@code cp.async} this thread has started so far has landed; the thread itself goes on at once. It counts as
     * one of the arrivals the barrier expects per phase (no increment of the pending count), so a producer can hand
     * a stage of gathered rows to its consumers without waiting for its own copies.
     */
    default void arriveWhenCopiesLand(MBarrier barrier) {
        emitter().instruction("cp.async.mbarrier.arrive.noinc.shared::cta.b64", Address.shared(barrier.address()));
    }

    /**
     * {@code mbarrier.arrive.expect_tx}: this thread's arrival, announcing that {@code bytes} more bytes must land
     * (through {@code complete_tx}, as TMA copies do) before the phase completes.
     */
    default void arriveExpectingBytes(MBarrier barrier, int bytes) {
        if (bytes < 0 || bytes > (1 << 20) - 1) {
            throw new IllegalArgumentException("an mbarrier transaction count is 0..2^20-1 bytes, not " + bytes);
        }
        B64 state = emitter().declare(new B64("arrival"));
        emitter().instruction("mbarrier.arrive.expect_tx.shared::cta.b64", state, Address.shared(barrier.address()),
                Integer.toString(bytes));
    }

    /**
     * Waits until the phase of parity {@code parity} (0 or 1, in a register) has completed: a loop around
     * {@code mbarrier.try_wait.parity}, which itself suspends the thread for a while before reporting false.
     */
    default void waitPhase(MBarrier barrier, U32 parity) {
        waitPhase("mbarrier.try_wait.parity.shared::cta.b64", barrier, parity);
    }

    private void waitPhase(String opcode, MBarrier barrier, U32 parity) {
        Label retry = emitter().label("mbarrier_wait");
        Pred done = emitter().declare(new Pred("phaseDone"));
        emitter().place(retry);
        emitter().instruction(opcode, done, Address.shared(barrier.address()), parity);
        emitter().guarded(done, true, "bra", retry);
    }
}
