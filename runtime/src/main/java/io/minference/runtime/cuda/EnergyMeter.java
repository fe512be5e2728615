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
        public double meanWatts() {
            return joules / seconds;
        }

        /** "123.4 J, 456 W mean", or "n/a" without NVML. */
        public String describe() {
            return Double.isNaN(joules) ? "n/a"
                    : String.format(Locale.ROOT, "%.1f J, %.0f W mean", joules, meanWatts());
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
