package io.minference.runtime.cuda;

import java.util.Locale;

/**
 * Joules a GPU spends on a piece of work, from NVML's total-energy counter read before and after it (the whole
 * board's energy, so whatever else runs on the GPU meanwhile counts too). Where NVML is absent the meter says why,
 * in one line, instead of reporting zeros.
 */
public final class EnergyMeter implements AutoCloseable {
    private final Nvml nvml;
    private final String unavailableReason;

    private EnergyMeter(Nvml nvml, String unavailableReason) {
        this.nvml = nvml;
        this.unavailableReason = unavailableReason;
    }

    /** A meter of device {@code index}: NVML's, or one that only knows why it cannot measure. */
    public static EnergyMeter open(int index) {
        return switch (Nvml.open(index)) {
            case Nvml.Available a -> new EnergyMeter(a.nvml(), null);
            case Nvml.Unavailable u -> new EnergyMeter(null, u.reason());
        };
    }

    /** A meter that measures nothing and says why in its {@link #unavailableLine()} (e.g. on the CPU). */
    public static EnergyMeter unavailable(String reason) {
        return new EnergyMeter(null, reason);
    }

    public boolean available() {
        return nvml != null;
    }

    /** The one line a report prints where energy is not measured; empty when it is. */
    public String unavailableLine() {
        return nvml != null ? "" : "energy: not measured (NVML: " + unavailableReason + ")";
    }

    /** A counter reading and its time; {@code millijoules} is -1 without NVML. */
    public record Reading(long millijoules, long nanos) {
    }

    /** Joules and seconds between two readings; joules NaN without NVML. */
    public record Energy(double joules, double seconds) {
        /**
         * The shortest span whose joules a report gives. NVML's counter advances in steps of about a tenth of a
         * second's energy, so a span reads a whole number of steps: over a few milliseconds 0 J or one step (an
         * H200 read 12 J over a 5.5 ms prefill, "1487 W" on a 700 W board), and over the 0.15-0.2 s of eight decode
         * steps at 512K one step or two (8.5 or 17.0 J a token, 380 or 760 W, in runs of the same build; one read
         * 825 W on a board limited to 700 W). A second spans about ten steps, so a reading is within about 10 %.
         */
        public static final double SHORTEST_SECONDS = 1.0;

        public double meanWatts() {
            return joules / seconds;
        }

        /** Whether this spans enough time, and read enough joules, to be a measurement ({@link #SHORTEST_SECONDS}). */
        public boolean resolvable() {
            return seconds >= SHORTEST_SECONDS && joules > 0;
        }

        /**
         * "123.4 J, 456 W mean"; "n/a" without NVML; "too short for NVML's energy counter (5.5 ms)" where
         * {@link #resolvable} says no.
         */
        public String describe() {
            if (Double.isNaN(joules)) return "n/a";
            if (!resolvable()) {
                return String.format(Locale.ROOT, "too short for NVML's energy counter (%.1f ms)", seconds * 1e3);
            }
            return String.format(Locale.ROOT, "%.1f J, %.0f W mean", joules, meanWatts());
        }
    }

    /** Reads the counter now (call after synchronizing the work before it). */
    public Reading read() {
        return new Reading(nvml == null ? -1 : nvml.totalEnergyMillijoules(), System.nanoTime());
    }

    /** The energy from {@code start} to now (call after synchronizing the work measured). */
    public Energy since(Reading start) {
        Reading end = read();
        double seconds = (end.nanos() - start.nanos()) / 1e9;
        return new Energy(nvml == null ? Double.NaN : (end.millijoules() - start.millijoules()) / 1000.0, seconds);
    }

    @Override
    public void close() {
        if (nvml != null) nvml.close();
    }
}
