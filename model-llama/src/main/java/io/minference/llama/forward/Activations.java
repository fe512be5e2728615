package io.minference.llama.forward;

import io.minference.llama.LlamaConfig;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;

/** The working buffers of one block of up to {@code rows} tokens, allocated once per forward pass. */
record Activations(int rows, Tensor x, Tensor normed, Tensor q, Tensor attention, Tensor projected, Tensor gate,
                   Tensor up, Tensor logits) implements AutoCloseable {

    static Activations allocate(LlamaConfig c, int rows) {
        int queryDim = c.numHeads() * c.headDim();
        return new Activations(rows,
                Tensor.allocate(DType.F32, rows, c.dim()),
                Tensor.allocate(DType.F32, rows, c.dim()),
                Tensor.allocate(DType.F32, rows, queryDim),
                Tensor.allocate(DType.F32, rows, queryDim),
                Tensor.allocate(DType.F32, rows, c.dim()),
                Tensor.allocate(DType.F32, rows, c.hiddenDim()),
                Tensor.allocate(DType.F32, rows, c.hiddenDim()),
                Tensor.allocate(DType.F32, c.vocabSize()));
    }

    /** Row {@code r} of an F32 [rows, width] buffer as a [1, width] view. */
    static Tensor row(Tensor t, int r) {
        long width = t.dim(1);
        return Tensor.wrap(DType.F32, t.data().asSlice(4L * r * width, 4L * width), 1, width);
    }

    @Override
    public void close() {
        for (Tensor t : new Tensor[] {x, normed, q, attention, projected, gate, up, logits}) t.close();
    }
}
