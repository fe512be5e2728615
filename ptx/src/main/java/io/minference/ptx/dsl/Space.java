package io.minference.ptx.dsl;

/** The state spaces kernels load from and store to. */
public enum Space {
    /** Device memory, addressed by 64-bit registers. */
    GLOBAL("global"),
    /** Per-block shared memory, addressed by 32-bit registers. */
    SHARED("shared");

    private final String ptx;

    Space(String ptx) {
        this.ptx = ptx;
    }

    /** The space qualifier without the dot. */
    public String ptx() {
        return ptx;
    }
}
