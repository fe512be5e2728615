package io.minference.app;

import io.minference.config.AttentionMode;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

/**
 * The bench table with several attention modes: prefill seconds per mode side by side, one row per length, the
 * speedup of each sparse mode over dense when dense is measured too, and the fraction of the causal area each
 * sparse mode computed ("kept", with or without dense beside it): a speedup is only read against the work it left
 * out. A time marked {@code *} is
 * a sparse mode whose prompt was below the sparse threshold, so it ran dense.
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
        for (AttentionMode mode : modes) {
            if (!mode.sparse()) continue;
            if (baseline >= 0) line.append(String.format(Locale.ROOT, " %18s", mode.label() + " speedup"));
            line.append(String.format(Locale.ROOT, " %8s", "kept"));
        }
        out.println(line);
        out.flush();
    }

    /**
     * @param nanos     prefill time per mode, in the order of the modes
     * @param ranSparse whether each mode's prefill took the sparse path
     * @param density   the fraction of the causal area each mode computed (NaN where not measured)
     */
    void row(int length, long[] nanos, boolean[] ranSparse, double[] density) {
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%10d", length));
        for (int i = 0; i < modes.size(); i++) {
            boolean dense = modes.get(i).sparse() && !ranSparse[i];
            belowThreshold |= dense;
            line.append(String.format(Locale.ROOT, " %18s", String.format(Locale.ROOT, "%.3f", nanos[i] / 1e9)
                    + (dense ? "*" : "")));
        }
        for (int i = 0; i < modes.size(); i++) {
            if (!modes.get(i).sparse()) continue;
            if (baseline >= 0) {
                line.append(String.format(Locale.ROOT, " %18s",
                        String.format(Locale.ROOT, "%.2fx", nanos[baseline] / (double) nanos[i])));
            }
            line.append(String.format(Locale.ROOT, " %8s", kept(density[i])));
        }
        out.println(line);
        out.flush();
    }

    /** A density as a percentage of the causal area, or "n/a" where it was not measured. */
    static String kept(double density) {
        return Double.isNaN(density) ? "n/a" : String.format(Locale.ROOT, "%.1f%%", 100 * density);
    }

    void footer() {
        out.println("modes warmed up first; their order alternates from one length to the next");
        if (belowThreshold) {
            out.printf(Locale.ROOT, "* below the sparse threshold of %d tokens: prefilled dense"
                    + " (--sparse-threshold 0 forces sparse)%n", threshold);
            out.flush();
        }
    }
}
