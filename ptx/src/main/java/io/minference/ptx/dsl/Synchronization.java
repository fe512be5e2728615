package io.minference.ptx.dsl;

/** Block-level barriers and memory fences. */
public interface Synchronization extends Values {
    /** {@code bar.sync 0}: every thread of the block waits here; shared-memory writes before it are visible after. */
    default void barrier() {
        emitter().instruction("bar.sync", "0");
    }

    /** {@code membar.gl}: orders this thread's global memory accesses device-wide. */
    default void fenceDevice() {
        emitter().instruction("membar.gl");
    }
}
