package io.minference.runtime;

import io.minference.runtime.cpu.CpuBackend;
import io.minference.runtime.cuda.CudaAvailability;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaDriver;
import java.util.Locale;

/**
 * Chooses a backend from a --device value: {@code auto} takes CUDA device 0 when a driver and a GPU are present and
 * the CPU otherwise (logging why), {@code cpu} the CPU, {@code cuda} or {@code cuda:N} a GPU or a clear error
 * naming what is missing.
 */
public final class Backends {
    private static final System.Logger LOG = System.getLogger(Backends.class.getName());
    private static final String VALID = "auto, cpu, cuda, cuda:N";

    private Backends() {
    }

    /** A parsed --device value. */
    public sealed interface Device {
        record Auto() implements Device { }

        record Cpu() implements Device { }

        record Cuda(int ordinal) implements Device { }
    }

    /** Parses a --device value, or fails with the valid values. */
    public static Device parse(String device) {
        if (device == null) throw new IllegalArgumentException("no device given; valid values: " + VALID);
        String d = device.trim().toLowerCase(Locale.ROOT);
        if (d.equals("auto")) return new Device.Auto();
        if (d.equals("cpu")) return new Device.Cpu();
        if (d.equals("cuda")) return new Device.Cuda(0);
        if (d.matches("cuda:\\d{1,4}")) return new Device.Cuda(Integer.parseInt(d.substring(5)));
        throw new IllegalArgumentException("unknown device '" + device + "'; valid values: " + VALID);
    }

    /** @param device "auto", "cpu", "cuda" or "cuda:N" */
    public static Backend select(String device) {
        return switch (parse(device)) {
            case Device.Cpu cpu -> new CpuBackend();
            case Device.Cuda cuda -> CudaBackend.open(requireCuda(device, cuda.ordinal()));
            case Device.Auto auto -> {
                CudaAvailability cuda = CudaDriver.availability();
                if (cuda.available()) yield CudaBackend.open(0);
                LOG.log(System.Logger.Level.INFO, "using the cpu backend: " + cuda.reason());
                yield new CpuBackend();
            }
        };
    }

    /**
     * Selects a backend for work that has only a CPU implementation so far: {@code auto} becomes the CPU, and a
     * CUDA device is refused with the reason (what is missing, or that {@code what} has no GPU path yet).
     */
    public static CpuBackend selectCpuOnly(String device, String what) {
        return switch (parse(device)) {
            case Device.Cpu cpu -> new CpuBackend();
            case Device.Auto auto -> new CpuBackend();
            case Device.Cuda cuda -> {
                requireCuda(device, cuda.ordinal());
                throw new IllegalArgumentException("--device " + device + ": " + what
                        + " runs only on the cpu backend so far; use --device cpu");
            }
        };
    }

    private static int requireCuda(String device, int ordinal) {
        CudaAvailability cuda = CudaDriver.availability();
        if (!cuda.available()) {
            throw new IllegalArgumentException("--device " + device + ": no usable CUDA GPU: " + cuda.reason());
        }
        if (ordinal >= cuda.deviceCount()) {
            throw new IllegalArgumentException("--device " + device + ": there are " + cuda.deviceCount()
                    + " CUDA devices (cuda:0 to cuda:" + (cuda.deviceCount() - 1) + ")");
        }
        return ordinal;
    }
}
