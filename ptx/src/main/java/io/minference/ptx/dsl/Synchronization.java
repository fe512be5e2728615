package io.minference.ptx.dsl;

/** Block-level barriers, memory fences and register reallocation between warpgroups. */
public interface Synchronization extends Values {
    /** {@code bar.sync 0}: every thread of the block waits here; shared-memory writes before it are visible after. */
    default void barrier() {
        emitter().instruction("bar.sync", "0");
    }

    /** {@code membar.gl}: orders this thread's global memory accesses device-wide. */
    default void fenceDevice() {
        emitter().instruction("membar.gl");
    }

    /**
     * {@code bar.sync id, threads}: a named barrier among {@code threads} threads (a multiple of 32) of the block,
     * so that a subset (the consumer warpgroups) can synchronise without the others. Barrier 0 is {@link #barrier}.
     */
    default void barrier(int id, int threads) {
        checkNamedBarrier(id, threads);
        emitter().instruction("bar.sync", Integer.toString(id), Integer.toString(threads));
    }

    /** {@code bar.sync id, threads} with the barrier chosen at run time ({@code id} in 0..15). */
    default void barrier(U32 id, int threads) {
        checkNamedBarrier(0, threads);
        emitter().instruction("bar.sync", id, Integer.toString(threads));
    }

    /**
     * {@code bar.arrive id, threads}: counts this thread toward the named barrier without waiting, as a producer
     * signals the threads that {@code bar.sync} on it (an ordering handshake between warpgroups: FlashAttention-3's
     * ping-pong of two consumers).
     */
    default void barrierArrive(U32 id, int threads) {
        checkNamedBarrier(0, threads);
        emitter().instruction("bar.arrive", id, Integer.toString(threads));
    }

    /** {@code bar.arrive id, threads} on a barrier fixed at generation time. */
    default void barrierArrive(int id, int threads) {
        checkNamedBarrier(id, threads);
        emitter().instruction("bar.arrive", Integer.toString(id), Integer.toString(threads));
    }

    private static void checkNamedBarrier(int id, int threads) {
        if (id < 0 || id > 15 || threads <= 0 || threads % 32 != 0) {
            throw new IllegalArgumentException("named barriers are 0..15 over a positive multiple of 32 threads, got "
                    + id + " over " + threads);
        }
    }

    /**
     * {@code fence.proxy.async.shared::cta}: orders this thread's ordinary shared-memory writes before later reads
     * by the async proxy (wgmma operands, TMA stores). Each writing thread fences, then the block synchronises.
     */
    default void fenceProxyAsyncShared() {
        emitter().instruction("fence.proxy.async.shared::cta");
    }

    /**
     * {@code setmaxnreg.inc.sync.aligned.u32}: the warpgroup's threads grow to {@code registers} each (24..256, a
     * multiple of 8), taking what other warpgroups released. ptxas honours it only in a kernel with a register cap
     * at entry ({@link KernelBuilder#maxThreadsPerBlock} with {@link KernelBuilder#minBlocksPerSm}) and with each
     * warpgroup's role one branch of a single if/else; otherwise it warns (C7508) and ignores it.
     */
    default void increaseRegisters(int registers) {
        emitter().instruction("setmaxnreg.inc.sync.aligned.u32", registerCount(registers));
    }

    /** {@code setmaxnreg.dec.sync.aligned.u32}: the warpgroup's threads shrink to {@code registers} each. */
    default void decreaseRegisters(int registers) {
        emitter().instruction("setmaxnreg.dec.sync.aligned.u32", registerCount(registers));
    }

    private static String registerCount(int registers) {
        if (registers < 24 || registers > 256 || registers % 8 != 0) {
            throw new IllegalArgumentException("setmaxnreg takes 24..256 registers in steps of 8, not " + registers);
        }
        return Integer.toString(registers);
    }
}
