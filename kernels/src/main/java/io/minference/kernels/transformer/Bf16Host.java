package io.minference.kernels.transformer;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.BFloat16;

import java.lang.foreign.ValueLayout;

/** Element access to host bf16 tensors for the CPU twins. */
final class Bf16Host {
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private Bf16Host() {
    }

    static float get(Tensor t, long index) {
        return BFloat16.toFloat(t.data().get(BF16, 2 * index));
    }

    static void set(Tensor t, long index, float value) {
        t.data().set(BF16, 2 * index, BFloat16.fromFloat(value));
    }

    static void require(Tensor t, String kernel, String what, long elements) {
        if (t.dtype() != DType.BF16 || t.elementCount() < elements) {
            throw new IllegalArgumentException(kernel + ": " + what + " must be BF16 with at least " + elements
                    + " elements, got " + t);
        }
    }
}
