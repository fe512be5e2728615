package io.minference.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/** Which attention long prompts are prefilled with (docs/configuration.md, "Sparse attention"). */
public enum AttentionMode {
    /** Every key, always. */
    DENSE("dense"),
    /** Per-head patterns from a pattern file; without one, every head vertical-slash. */
    MINFERENCE("minference"),
    /** Every head A-shape: sink tokens plus a local window. */
    A_SHAPE("a-shape"),
    /** Every head vertical-slash. */
    VERTICAL_SLASH("vertical-slash"),
    /** Every head block-sparse. */
    BLOCK_SPARSE("block-sparse");

    private final String label;

    AttentionMode(String label) {
        this.label = label;
    }

    /** The name on the command line and in configuration files. */
    public String label() {
        return label;
    }

    public boolean sparse() {
        return this != DENSE;
    }

    public static Optional<AttentionMode> byLabel(String label) {
        String wanted = label.strip().toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(m -> m.label.equals(wanted)).findFirst();
    }

    /** The mode named {@code label}, or an IllegalArgumentException listing the valid names. */
    public static AttentionMode parse(String label) {
        return byLabel(label).orElseThrow(() -> new IllegalArgumentException(problem(label)));
    }

    static String problem(String label) {
        return "must be one of " + labels() + ", got '" + label + "'";
    }

    public static String labels() {
        return Arrays.stream(values()).map(AttentionMode::label).collect(Collectors.joining(", "));
    }
}
