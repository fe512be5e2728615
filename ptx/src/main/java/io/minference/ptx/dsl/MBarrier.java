package io.minference.ptx.dsl;

/**
 * A shared-memory {@code mbarrier} object: 8 bytes, 8-byte aligned, counting arrivals and (for TMA) expected
 * transaction bytes. A phase completes when both counts reach zero; waiters name the phase by its parity.
 *
 * @param address its shared-memory address
 */
public record MBarrier(U32 address) {
    /** Bytes one barrier takes in shared memory. */
    public static final int BYTES = 8;
}
