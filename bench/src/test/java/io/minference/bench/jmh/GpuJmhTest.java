package io.minference.bench.jmh;

import io.minference.runtime.cuda.CudaAvailability;
import io.minference.runtime.cuda.CudaDriver;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class GpuJmhTest {

    @Test
    void withoutCudaTheBenchmarksSaySoInOneLine() throws Exception {
        CudaAvailability availability = CudaDriver.availability();
        assumeFalse(availability.available(), "this machine has a usable CUDA device");
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        int status = GpuJmh.run(new String[0], new PrintStream(text, true, StandardCharsets.UTF_8));
        String printed = text.toString(StandardCharsets.UTF_8);
        assertEquals(2, status);
        assertEquals("GPU JMH benchmarks skipped: " + availability.reason(), printed.strip());
        assertTrue(printed.lines().count() == 1, printed);
    }

    @Test
    void withoutCudaASessionFailsWithTheReason() {
        CudaAvailability availability = CudaDriver.availability();
        assumeFalse(availability.available(), "this machine has a usable CUDA device");
        IllegalStateException e = assertThrows(IllegalStateException.class, GpuSession::open);
        assertTrue(e.getMessage().contains(availability.reason()), e.getMessage());
    }
}
