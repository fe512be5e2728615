package io.minference.kernels.transformer;

import io.minference.runtime.DType;
import io.minference.runtime.cuda.DeviceTensor;

/**
 * The checks a launch makes before queueing a kernel that would otherwise read or write out of bounds: device
 * tensors are taken as flat buffers of which a kernel uses the first elements, as the CPU twins use the first rows.
 */
final class LaunchChecks {
    private LaunchChecks() {
    }

    /** A buffer's type and size as a launch sees them. */
    record Buffer(String name, DType dtype, long elements) {
        static Buffer of(String name, DeviceTensor tensor) {
            return new Buffer(name, tensor.dtype(), tensor.elementCount());
        }
    }

    static void holds(String kernel, Buffer buffer, DType dtype, long elements) {
        if (buffer.dtype() != dtype) {
            throw new IllegalArgumentException(kernel + ": " + buffer.name() + " must be " + dtype + ", got "
                    + buffer.dtype());
        }
        if (buffer.elements() < elements) {
            throw new IllegalArgumentException(kernel + ": " + buffer.name() + " holds " + buffer.elements()
                    + " elements, the launch needs " + elements);
        }
    }

    static void positive(String kernel, String what, long value) {
        if (value <= 0) throw new IllegalArgumentException(kernel + ": " + what + " must be positive, got " + value);
    }

    static void multipleOf(String kernel, String what, long value, int factor) {
        if (value <= 0 || value % factor != 0) {
            throw new IllegalArgumentException(kernel + ": " + what + " must be a positive multiple of " + factor
                    + " (16-byte vectors), got " + value);
        }
    }
}
