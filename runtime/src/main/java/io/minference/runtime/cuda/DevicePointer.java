package io.minference.runtime.cuda;

/** Anything that stands for an address in device memory; a kernel parameter of PTX type u64 accepts it. */
public interface DevicePointer {
    /** The device address ({@code CUdeviceptr}). */
    long address();
}
