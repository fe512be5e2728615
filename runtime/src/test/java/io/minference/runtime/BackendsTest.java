package io.minference.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.minference.runtime.cpu.CpuBackend;
import io.minference.runtime.cuda.CudaDriver;
import org.junit.jupiter.api.Test;

class BackendsTest {
    @Test
    void cpuSelectsTheCpuBackend() {
        for (String device : new String[] {"cpu", "CPU"}) {
            try (Backend backend = Backends.select(device)) {
                assertTrue(backend instanceof CpuBackend, device);
                assertEquals("cpu", backend.name());
            }
        }
    }

    @Test
    void autoFallsBackToTheCpuWhereThereIsNoGpu() {
        assumeFalse(CudaDriver.availability().available(), "this machine has a GPU");
        try (Backend backend = Backends.select("auto")) {
            assertTrue(backend instanceof CpuBackend);
        }
    }

    @Test
    void cudaWithoutAGpuNamesWhatIsMissing() {
        assumeFalse(CudaDriver.availability().available(), "this machine has a GPU");
        for (String device : new String[] {"cuda", "cuda:1"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> Backends.select(device));
            assertTrue(e.getMessage().contains("no usable CUDA GPU: " + CudaDriver.availability().reason()),
                    e.getMessage());
        }
    }

    @Test
    void cpuOnlyWorkRefusesCudaAndTakesTheCpuForAuto() {
        try (CpuBackend backend = Backends.selectCpuOnly("auto", "generation")) {
            assertEquals("cpu", backend.name());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> Backends.selectCpuOnly("cuda", "generation"));
        assertTrue(e.getMessage().startsWith("--device cuda: "), e.getMessage());
    }

    @Test
    void unknownDeviceListsTheValidValues() {
        var e = assertThrows(IllegalArgumentException.class, () -> Backends.select("tpu"));
        assertTrue(e.getMessage().contains("auto, cpu, cuda, cuda:N"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Backends.select("cuda:x"));
        assertThrows(IllegalArgumentException.class, () -> Backends.select(null));
    }
}
