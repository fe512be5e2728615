package io.minference.kernels.transformer;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;

/** The CPU twin of {@link Argmax}: the lowest index of the largest non-NaN value, -1 when every value is NaN. */
public final class CpuArgmax {
    private CpuArgmax() {
    }

    public static int argmax(float[] values, int from, int length) {
        int best = -1;
        for (int i = 0; i < length; i++) {
            float v = values[from + i];
            if (!Float.isNaN(v) && (best < 0 || v > values[from + best])) best = i;
        }
        return best;
    }

    /** The argmax of each of the first {@code rows} rows of an F32 [rows][vocab] tensor. */
    public static int[] apply(Tensor logits, int rows) {
        if (logits.dtype() != DType.F32 || logits.rank() != 2 || logits.dim(0) < rows) {
            throw new IllegalArgumentException("argmax needs F32 [rows, vocab] logits with " + rows + " rows, got "
                    + logits);
        }
        int vocab = Math.toIntExact(logits.dim(1));
        float[] all = logits.toFloatArray();
        int[] result = new int[rows];
        for (int r = 0; r < rows; r++) result[r] = argmax(all, r * vocab, vocab);
        return result;
    }
}
