package io.minference.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** NVML's energy counter through FFM: one clear line where NVML is absent, rising joules where it is. */
class EnergyMeterTest {
    @Test
    void withoutNvmlTheMeterSaysSoInOneLineAndReportsNoNumbers() {
        try (EnergyMeter meter = EnergyMeter.open(0)) {
            assumeFalse(meter.available(), "NVML is present on this machine");
            String line = meter.unavailableLine();
            System.out.println(line);
            assertTrue(line.startsWith("energy: not measured (NVML: "), line);
            assertTrue(line.contains(Nvml.LIBRARY), line);
            assertEquals(-1, line.indexOf('\n'));
            EnergyMeter.Energy energy = meter.since(meter.read());
            assertTrue(Double.isNaN(energy.joules()));
            assertEquals("n/a", energy.describe());
        }
    }

    @Test
    @Tag("gpu")
    void theCounterRisesWhileTheGpuWorks() throws Exception {
        CudaAvailability cuda = CudaDriver.availability();
        assumeTrue(cuda.available(), () -> "no usable CUDA device: " + cuda.reason());
        try (EnergyMeter meter = EnergyMeter.open(0); CudaBackend backend = CudaBackend.open(0)) {
            assumeTrue(meter.available(), meter.unavailableLine());
            assertEquals("", meter.unavailableLine());
            EnergyMeter.Reading start = meter.read();
            try (DeviceBuffer buffer = backend.context().allocate(1L << 30)) {
                long end = System.nanoTime() + 2_000_000_000L;
                while (System.nanoTime() < end) {
                    buffer.fillIntsAsync(7, backend.stream());
                    backend.stream().synchronize();
                }
            }
            EnergyMeter.Energy energy = meter.since(start);
            System.out.println("2 s of memsets on " + backend.device() + ": " + energy.describe());
            assertTrue(energy.joules() > 0, energy.describe());
            assertTrue(energy.meanWatts() > 10 && energy.meanWatts() < 1500, energy.describe());
        }
    }
}
