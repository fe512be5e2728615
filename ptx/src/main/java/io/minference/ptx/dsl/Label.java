package io.minference.ptx.dsl;

/** A branch target; its name is made unique within the kernel. */
public final class Label {
    private final String name;

    Label(String name) {
        this.name = name;
    }

    /** The label's PTX name. */
    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return name;
    }
}
