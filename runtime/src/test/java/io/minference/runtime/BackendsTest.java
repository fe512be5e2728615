package io.minference.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.runtime.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class BackendsTest {
    @Test
    void autoAndCpuSelectTheCpuBackend() {
        for (String device : new String[] {"auto", "cpu", "CPU"}) {
            try (Backend backend = Backends.select(device)) {
                assertTrue(backend instanceof CpuBackend, device);
                assertEquals("cpu", backend.name());
            }
        }
    }

    @Test
    void cudaIsRefusedWithAnExplanation() {
        for (String device : new String[] {"cuda", "cuda:1"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> Backends.select(device));
            assertTrue(e.getMessage().contains("only the cpu backend"), e.getMessage());
        }
    }

    @Test
    void unknownDeviceListsTheValidValues() {
        var e = assertThrows(IllegalArgumentException.class, () -> Backends.select("tpu"));
        assertTrue(e.getMessage().contains("auto, cpu, cuda, cuda:N"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Backends.select("cuda:x"));
        assertThrows(IllegalArgumentException.class, () -> Backends.select(null));
    }
}
