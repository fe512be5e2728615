package io.minference.kernels.cpu;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;

/** Shape checks shared by the row-wise kernels. */
final class Rows {
    private Rows() {
    }

    /** The row length of {@code t}, after checking that it is F32 and holds at least {@code rows} rows. */
    static int width(Tensor t, int rows, String kernel, String what) {
        if (t.dtype() != DType.F32) throw new IllegalArgumentException(kernel + " needs F32; " + what + " is " + t);
        if (rows < 0) throw new IllegalArgumentException(kernel + ": negative row count " + rows);
        long width = t.dim(t.rank() - 1);
        long available = t.rank() == 1 ? 1 : t.elementCount() / Math.max(1, width);
        if (available < rows) {
            throw new IllegalArgumentException(kernel + ": " + what + " " + t + " has fewer than " + rows + " rows");
        }
        return Math.toIntExact(width);
    }

    static void sameWidth(int expected, int actual, String kernel, String what) {
        if (expected != actual) {
            throw new IllegalArgumentException(kernel + ": " + what + " has rows of " + actual + ", expected " + expected);
        }
    }
}
