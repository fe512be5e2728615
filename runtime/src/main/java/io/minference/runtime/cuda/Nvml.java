package io.minference.runtime.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few NVML functions ({@code libnvidia-ml.so.1}, shipped with the NVIDIA driver) that measure a GPU's energy,
 * bound through java.lang.foreign like {@link CudaDriver}: {@code nvmlInit_v2}, {@code nvmlDeviceGetHandleByIndex_v2},
 * {@code nvmlDeviceGetTotalEnergyConsumption} (millijoules since the driver was loaded; Volta and newer) and
 * {@code nvmlShutdown}. The device is taken by NVML's index, which is the CUDA ordinal unless
 * {@code CUDA_VISIBLE_DEVICES} reorders devices.
 */
public final class Nvml implements AutoCloseable {
    public static final String LIBRARY = "libnvidia-ml.so.1";
    private static final int SUCCESS = 0;

    private final MethodHandle errorString;
    private final MethodHandle totalEnergy;
    private final MethodHandle shutdown;
    private final MemorySegment device;
    private final int index;
    private boolean closed;

    private Nvml(NativeLibrary lib, int index) throws Throwable {
        this.index = index;
        errorString = lib.bind("nvmlErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        MethodHandle init = lib.bind("nvmlInit_v2", FunctionDescriptor.of(JAVA_INT));
        MethodHandle byIndex = lib.bind("nvmlDeviceGetHandleByIndex_v2",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        totalEnergy = lib.bind("nvmlDeviceGetTotalEnergyConsumption",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        shutdown = lib.bind("nvmlShutdown", FunctionDescriptor.of(JAVA_INT));
        check((int) init.invokeExact(), "nvmlInit_v2");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = arena.allocate(ADDRESS);
            check((int) byIndex.invokeExact(index, handle), "nvmlDeviceGetHandleByIndex_v2(" + index + ")");
            device = handle.get(ADDRESS, 0);
        } catch (Throwable t) {
            int ignored = (int) shutdown.invokeExact();
            throw t;
        }
    }

    /** NVML for one device, or the reason it cannot be had (library absent, init failed, no such device). */
    public sealed interface Availability permits Available, Unavailable {
    }

    public record Available(Nvml nvml) implements Availability {
    }

    public record Unavailable(String reason) implements Availability {
    }

    /** Opens NVML for device {@code index}; never throws for a machine without NVML. */
    public static Availability open(int index) {
        List<String> tried = new ArrayList<>();
        var lib = NativeLibrary.open(List.of(LIBRARY), tried);
        if (lib.isEmpty()) return new Unavailable(LIBRARY + " could not be loaded (no NVIDIA driver here)");
        try {
            return new Available(new Nvml(lib.get(), index));
        } catch (NativeLibrary.MissingSymbolException e) {
            return new Unavailable(e.getMessage());
        } catch (NvmlException e) {
            return new Unavailable(e.getMessage());
        } catch (Throwable t) {
            return new Unavailable("NVML failed: " + t);
        }
    }

    /** The device's energy counter in millijoules (since the driver was loaded). */
    public long totalEnergyMillijoules() {
        if (closed) throw new IllegalStateException("NVML is shut down");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment millijoules = arena.allocate(JAVA_LONG);
            check((int) totalEnergy.invokeExact(device, millijoules),
                    "nvmlDeviceGetTotalEnergyConsumption(device " + index + ")");
            return millijoules.get(JAVA_LONG, 0);
        } catch (NvmlException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("nvmlDeviceGetTotalEnergyConsumption failed", t);
        }
    }

    private void check(int result, String call) throws NvmlException {
        if (result == SUCCESS) return;
        String text;
        try {
            text = ((MemorySegment) errorString.invokeExact(result)).reinterpret(256).getString(0);
        } catch (Throwable t) {
            text = "error " + result;
        }
        throw new NvmlException(call + " failed: " + text + " (" + result + ")");
    }

    /** An NVML call that returned an error. */
    public static final class NvmlException extends RuntimeException {
        NvmlException(String message) {
            super(message);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            int ignored = (int) shutdown.invokeExact();
        } catch (Throwable ignored) {
            // shutting down NVML cannot fail in a way the caller could act on
        }
    }
}
