package io.minference.ptx.dsl;

/**
 * {@code cp.async}: global to shared copies that run in the background (sm_80+). Copies are grouped with
 * {@link #commitGroup()}; {@link #waitGroups(int)} blocks until at most n groups are still in flight. A barrier is
 * still needed before other threads read what this thread copied.
 */
public interface AsyncCopy extends Values {
    /** Starts copying {@code bytes} (4, 8 or 16) from global {@code source} to shared {@code destination}. */
    default void copyAsync(Address destination, Address source, int bytes) {
        check(destination, source);
        String cache = switch (bytes) {
            case 16 -> "cg";
            case 4, 8 -> "ca";
            default -> throw new IllegalArgumentException("cp.async copies 4, 8 or 16 bytes, not " + bytes);
        };
        emitter().instruction("cp.async." + cache + ".shared.global", destination, source, Integer.toString(bytes));
    }

    /** A 16-byte copy of which only the first {@code validBytes} are read; the rest of the destination is zeroed. */
    default void copyAsyncZeroFill(Address destination, Address source, U32 validBytes) {
        check(destination, source);
        emitter().instruction("cp.async.cg.shared.global", destination, source, "16", validBytes);
    }

    private static void check(Address destination, Address source) {
        if (destination.space() != Space.SHARED || source.space() != Space.GLOBAL) {
            throw new IllegalArgumentException("cp.async copies global to shared, not " + source.space().ptx()
                    + " to " + destination.space().ptx());
        }
    }

    /** Closes the current group of copies. */
    default void commitGroup() {
        emitter().instruction("cp.async.commit_group");
    }

    /** Waits until at most {@code pending} committed groups are still in flight. */
    default void waitGroups(int pending) {
        emitter().instruction("cp.async.wait_group", Integer.toString(pending));
    }

    /** Waits for every copy this thread started. */
    default void waitAll() {
        emitter().instruction("cp.async.wait_all");
    }
}
