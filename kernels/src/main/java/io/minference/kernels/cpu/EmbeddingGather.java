package io.minference.kernels.cpu;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.quant.BlockDecoder;
import java.lang.foreign.MemorySegment;

/**
 * Copies the embedding rows of a run of token ids into consecutive rows of {@code out}, decoding them when the table
 * is in a block type (a quantized table read in place from a model file).
 */
public final class EmbeddingGather {
    private EmbeddingGather() {
    }

    /** out[r] = table[tokens[from + r]] for r < count; table is [vocab, dim], F32 or any type with a decoder. */
    public static void apply(Tensor table, int[] tokens, int from, int count, Tensor out) {
        if (table.dtype() != DType.F32) {
            gatherDecoded(table, tokens, from, count, out);
            return;
        }
        int dim = Rows.width(table, 1, "embedding gather", "table");
        Rows.sameWidth(dim, Rows.width(out, count, "embedding gather", "output"), "embedding gather", "output");
        long vocab = table.dim(0);
        long rowBytes = 4L * dim;
        for (int r = 0; r < count; r++) {
            int token = checkedToken(tokens, from + r, vocab);
            MemorySegment.copy(table.data(), token * rowBytes, out.data(), r * rowBytes, rowBytes);
        }
    }

    private static int checkedToken(int[] tokens, int at, long vocab) {
        int token = tokens[at];
        if (token < 0 || token >= vocab) {
            throw new IllegalArgumentException("token id " + token + " at position " + at
                    + " is outside the vocabulary of " + vocab);
        }
        return token;
    }

    private static void gatherDecoded(Tensor table, int[] tokens, int from, int count, Tensor out) {
        BlockDecoder decoder = BlockDecoder.forType(table.dtype());
        if (decoder == null || table.rank() != 2) {
            throw new IllegalArgumentException("embedding gather cannot read a table " + table);
        }
        int dim = Math.toIntExact(table.dim(1));
        Rows.sameWidth(dim, Rows.width(out, count, "embedding gather", "output"), "embedding gather", "output");
        long vocab = table.dim(0);
        long rowBytes = table.dtype().byteSize(dim);
        for (int r = 0; r < count; r++) {
            int token = checkedToken(tokens, from + r, vocab);
            decoder.decode(table.data(), token * rowBytes, out.data(), (long) r * dim, dim / table.dtype().blockSize());
        }
    }
}
