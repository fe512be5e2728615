package io.minference.runtime.cuda;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** The "no GPU" paths, which run on any machine. */
class CudaUnavailableTest {

    @Test
    void aMissingDriverLibraryIsNamed() {
        CudaAvailability availability = CudaDriver.probeLibrary("libcuda-absent-for-test.so.1");
        assertFalse(availability.available());
        assertEquals(0, availability.deviceCount());
        assertTrue(availability.reason().contains("libcuda-absent-for-test.so.1"), availability.reason());
        assertTrue(availability.reason().contains("not found"), availability.reason());
    }

    @Test
    void aLibraryThatIsNotTheDriverIsReportedByTheMissingSymbol() {
        CudaAvailability availability = CudaDriver.probeLibrary("libc.so.6");
        assertFalse(availability.available());
        assertTrue(availability.reason().contains("libc.so.6 has no symbol cuInit"), availability.reason());
    }

    @Test
    void withoutTheDriverOpeningTheBackendSaysWhatIsMissing() {
        CudaAvailability availability = CudaDriver.availability();
        assumeFalse(availability.available(), "this machine has a usable CUDA device");
        assertFalse(availability.reason().isBlank());
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, () -> CudaBackend.open(0));
        assertTrue(e.getMessage().contains(availability.reason()), e.getMessage());
        // the probe names the part that is missing: here, the driver library or its initialisation
        if (availability.reason().contains("not found")) {
            assertTrue(availability.reason().contains(CudaDriver.LIBRARY), availability.reason());
        }
        assertThrows(CudaUnavailableException.class, CudaDriver::get);
    }

    @Test
    void aMissingCublasLtIsReportedWhenAGemmAsksForIt() {
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class,
                () -> CublasLt.load(List.of("libcublasLt-absent-for-test.so.13", "libcublasLt-absent-for-test.so.12")));
        assertTrue(e.getMessage().contains("GEMM"), e.getMessage());
        assertTrue(e.getMessage().contains("libcublasLt-absent-for-test.so.13"), e.getMessage());
        assertTrue(e.getMessage().contains("libcublasLt-absent-for-test.so.12"), e.getMessage());
    }

    @Test
    void cudaExceptionNamesTheCallAndTheError() {
        CudaException e = new CudaException("cuMemAlloc_v2", 2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory",
                "while allocating 1024 bytes");
        assertEquals("cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory\nwhile allocating 1024 bytes",
                e.getMessage());
        assertEquals("cuMemAlloc_v2", e.call());
        assertEquals(2, e.status());
    }
}
