package io.minference.app;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.attention.CpuCausalAttention;
import io.minference.kernels.attention.PromptAttention;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;

/**
 * Dense attention of a whole prompt that first shows each layer's queries, keys and values (RoPE applied) to an
 * observer: how pattern search and the recall evaluation see real attention during a dense prefill.
 */
final class RecordingAttention implements PromptAttention {
    /** Sees one layer's tensors, valid only during the call. */
    interface LayerObserver {
        void layer(int layer, AttentionShape shape, Tensor queries, Tensor keys, Tensor values, int length);
    }

    private final PromptAttention dense;
    private final LayerObserver observer;

    RecordingAttention(CpuBackend backend, int blockSize, LayerObserver observer) {
        this.dense = PromptAttention.dense(new CpuCausalAttention(backend), blockSize);
        this.observer = observer;
    }

    @Override
    public void attend(int layer, AttentionShape shape, Tensor queries, Tensor keys, Tensor values, Tensor out,
                       int length) {
        observer.layer(layer, shape, queries, keys, values, length);
        dense.attend(layer, shape, queries, keys, values, out, length);
    }
}
