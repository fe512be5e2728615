package io.minference.runtime;

import io.minference.runtime.cpu.CpuBackend;

/** Chooses a backend from a --device value. */
public final class Backends {
    private Backends() {
    }

    /** @param device "auto", "cpu", "cuda" or "cuda:N" */
    public static Backend select(String device) {
        if (device == null) throw new IllegalArgumentException("no device given; valid values: auto, cpu, cuda, cuda:N");
        String d = device.trim().toLowerCase(java.util.Locale.ROOT);
        if (d.equals("auto") || d.equals("cpu")) return new CpuBackend();
        if (d.equals("cuda") || d.matches("cuda:\\d+")) {
            throw new IllegalArgumentException("device '" + device + "' is not available: this build has only the "
                    + "cpu backend (use --device cpu or auto)");
        }
        throw new IllegalArgumentException("unknown device '" + device + "'; valid values: auto, cpu, cuda, cuda:N");
    }
}
