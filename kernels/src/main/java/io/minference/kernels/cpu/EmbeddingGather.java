package io.minference.kernels.cpu;

import io.minference.runtime.Tensor;
import java.lang.foreign.MemorySegment;

/** Copies the embedding rows of a run of token ids into consecutive rows of {@code out}. */
public final class EmbeddingGather {
    private EmbeddingGather() {
    }

    /** out[r] = table[tokens[from + r]] for r < count; table is [vocab, dim]. */
    public static void apply(Tensor table, int[] tokens, int from, int count, Tensor out) {
        int dim = Rows.width(table, 1, "embedding gather", "table");
        Rows.sameWidth(dim, Rows.width(out, count, "embedding gather", "output"), "embedding gather", "output");
        long vocab = table.dim(0);
        long rowBytes = 4L * dim;
        for (int r = 0; r < count; r++) {
            int token = tokens[from + r];
            if (token < 0 || token >= vocab) {
                throw new IllegalArgumentException("token id " + token + " at position " + (from + r)
                        + " is outside the vocabulary of " + vocab);
            }
            MemorySegment.copy(table.data(), token * rowBytes, out.data(), r * rowBytes, rowBytes);
        }
    }
}
