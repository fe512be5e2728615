package io.minference.bench;

import io.minference.runtime.cuda.CudaAvailability;
import io.minference.runtime.cuda.CudaDriver;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class GpuBenchTest {

    @Test
    void withoutCudaTheBenchSaysWhyAndFails() {
        CudaAvailability availability = CudaDriver.availability();
        assumeFalse(availability.available(), "this machine has a usable CUDA device");
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        int status = GpuBench.run(GpuBench.benchmarks(), new PrintStream(text, true, StandardCharsets.UTF_8));
        assertEquals(2, status);
        assertTrue(text.toString(StandardCharsets.UTF_8).contains(availability.reason()), text.toString());
    }
}
