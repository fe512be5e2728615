package io.minference.app;

import io.minference.config.AttentionMode;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

/**
 * The bench table with several attention modes: prefill seconds per mode side by side, one row per length, and the
 * speedup of each sparse mode over dense when dense is measured too. A time marked {@code *} is a sparse mode whose
 * prompt was below the sparse threshold, so it ran dense.
 */
final class AttentionTable {
    private final PrintWriter out;
    private final List<AttentionMode> modes;
    private final int baseline;
    private final int threshold;
    private boolean belowThreshold;

    AttentionTable(PrintWriter out, List<AttentionMode> modes, int threshold) {
        this.out = out;
        this.modes = modes;
        this.baseline = modes.indexOf(AttentionMode.DENSE);
        this.threshold = threshold;
    }

    void header() {
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%10s", "tokens"));
        for (AttentionMode mode : modes) line.append(String.format(Locale.ROOT, " %18s", mode.label() + " s"));
        if (baseline >= 0) {
            for (AttentionMode mode : modes) {
                if (mode.sparse()) line.append(String.format(Locale.ROOT, " %18s", mode.label() + " speedup"));
            }
        }
        out.println(line);
        out.flush();
    }

    /**
     * @param nanos     prefill time per mode, in the order of the modes
     * @param ranSparse whether each mode's prefill took the sparse path
     */
    void row(int length, long[] nanos, boolean[] ranSparse) {
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%10d", length));
        for (int i = 0; i < modes.size(); i++) {
            boolean dense = modes.get(i).sparse() && !ranSparse[i];
            belowThreshold |= dense;
            line.append(String.format(Locale.ROOT, " %18s", String.format(Locale.ROOT, "%.3f", nanos[i] / 1e9)
                    + (dense ? "*" : "")));
        }
        if (baseline >= 0) {
            for (int i = 0; i < modes.size(); i++) {
                if (!modes.get(i).sparse()) continue;
                line.append(String.format(Locale.ROOT, " %18s",
                        String.format(Locale.ROOT, "%.2fx", nanos[baseline] / (double) nanos[i])));
            }
        }
        out.println(line);
        out.flush();
    }

    void footer() {
        if (belowThreshold) {
            out.printf(Locale.ROOT, "* below the sparse threshold of %d tokens: prefilled dense"
                    + " (--sparse-threshold 0 forces sparse)%n", threshold);
            out.flush();
        }
    }
}
