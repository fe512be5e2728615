package io.minference.runtime.cuda;

import io.minference.ptx.PtxTarget;

/**
 * The properties of one CUDA device that kernels and launch shapes depend on.
 *
 * @param ordinal                     the device's index (the N of "cuda:N")
 * @param name                        the marketing name, e.g. "NVIDIA H100 80GB HBM3"
 * @param computeMajor                compute capability, major part
 * @param computeMinor                compute capability, minor part
 * @param multiprocessorCount         streaming multiprocessors
 * @param totalMemoryBytes            device memory
 * @param l2CacheBytes                L2 cache
 * @param maxThreadsPerBlock          the block-size limit
 * @param maxSharedBytesPerBlock      shared memory a block gets without opting in (48 KB)
 * @param maxSharedBytesPerBlockOptin shared memory a block may get once its function raises its dynamic limit
 * @param maxRegistersPerBlock        32-bit registers available to one block
 */
public record CudaDevice(int ordinal, String name, int computeMajor, int computeMinor, int multiprocessorCount,
                         long totalMemoryBytes, int l2CacheBytes, int maxThreadsPerBlock, int maxSharedBytesPerBlock,
                         int maxSharedBytesPerBlockOptin, int maxRegistersPerBlock) {

    // CUdevice_attribute values from cuda.h
    private static final int MAX_THREADS_PER_BLOCK = 1;
    private static final int MAX_SHARED_MEMORY_PER_BLOCK = 8;
    private static final int MAX_REGISTERS_PER_BLOCK = 12;
    private static final int MULTIPROCESSOR_COUNT = 16;
    private static final int L2_CACHE_SIZE = 38;
    private static final int COMPUTE_CAPABILITY_MAJOR = 75;
    private static final int COMPUTE_CAPABILITY_MINOR = 76;
    private static final int MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;

    static CudaDevice query(CudaDriver driver, int ordinal) {
        int device = driver.device(ordinal);
        return new CudaDevice(ordinal, driver.deviceName(device),
                driver.deviceAttribute(device, COMPUTE_CAPABILITY_MAJOR),
                driver.deviceAttribute(device, COMPUTE_CAPABILITY_MINOR),
                driver.deviceAttribute(device, MULTIPROCESSOR_COUNT),
                driver.deviceTotalMemory(device),
                driver.deviceAttribute(device, L2_CACHE_SIZE),
                driver.deviceAttribute(device, MAX_THREADS_PER_BLOCK),
                driver.deviceAttribute(device, MAX_SHARED_MEMORY_PER_BLOCK),
                driver.deviceAttribute(device, MAX_SHARED_MEMORY_PER_BLOCK_OPTIN),
                driver.deviceAttribute(device, MAX_REGISTERS_PER_BLOCK));
    }

    /** "9.0" for a Hopper GPU. */
    public String computeCapability() {
        return computeMajor + "." + computeMinor;
    }

    /** The PTX target the DSL should emit for this device. */
    public PtxTarget ptxTarget() {
        return PtxTarget.forComputeCapability(computeMajor, computeMinor);
    }

    /** Whether PTX written for {@code target} can be JIT-compiled for this device. */
    public boolean runs(PtxTarget target) {
        return switch (target) {
            case SM_80 -> computeMajor >= 8;
            // architecture-specific features: the 'a' targets run only on exactly that architecture
            case SM_90A -> computeMajor == 9 && computeMinor == 0;
        };
    }

    @Override
    public String toString() {
        return String.format("cuda:%d %s (compute %s, %d SMs, %.1f GiB, L2 %d MiB, shared/block opt-in %d KiB)",
                ordinal, name, computeCapability(), multiprocessorCount, totalMemoryBytes / (double) (1L << 30),
                l2CacheBytes >> 20, maxSharedBytesPerBlockOptin >> 10);
    }
}
