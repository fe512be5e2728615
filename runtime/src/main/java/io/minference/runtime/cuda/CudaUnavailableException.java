package io.minference.runtime.cuda;

/**
 * CUDA (or one of its libraries) cannot be used on this machine; the message says which part is missing: the driver
 * library, a symbol in it, the driver's initialisation, a device, or cuBLASLt.
 */
public class CudaUnavailableException extends RuntimeException {
    public CudaUnavailableException(String message) {
        super(message);
    }
}
