package io.minference.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Where the KV cache of layers not being computed lives on a GPU (docs/configuration.md, "KV offload"): all on the
 * device ({@code none}), or in pinned host memory ({@code host}), each layer's coming back to one of two device
 * slots while the layer before it computes. The CPU backend's cache is in host memory already and refuses
 * {@code host}.
 */
public enum KvOffload {
    NONE("none"),
    HOST("host");

    private final String label;

    KvOffload(String label) {
        this.label = label;
    }

    /** The name on the command line and in configuration files. */
    public String label() {
        return label;
    }

    public static Optional<KvOffload> byLabel(String label) {
        String wanted = label.strip().toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(t -> t.label.equals(wanted)).findFirst();
    }

    /** The labels, for error messages: "none, host". */
    public static String labels() {
        return Arrays.stream(values()).map(KvOffload::label).collect(Collectors.joining(", "));
    }
}
