package io.minference.kernels.flash;

import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DevicePointer;

/**
 * Causal attention of a whole prompt on the device, layer by layer: queries of positions {@code [0, length)}
 * against cache rows {@code [0, length)}, with the bf16 layouts of {@link io.minference.kernels.flash}. The GPU
 * twin of {@link io.minference.kernels.attention.PromptAttention}; a sparse prefill implements it, and the forward
 * pass then runs the prompt layer-major. All work is queued on {@code stream}.
 */
public interface DevicePromptAttention extends AutoCloseable {
    void attend(CudaStream stream, int layer, DevicePointer q, DevicePointer k, DevicePointer v, DevicePointer out,
                int length);

    /**
     * Marks its estimation and index building inside the attention phase ({@link PhaseMarks.Phase#INDEX}, then back
     * to {@link PhaseMarks.Phase#ATTENTION}); an attention without them ignores the marks.
     */
    default void markPhases(PhaseMarks marks) {
    }

    @Override
    void close();

    /** Dense flash attention over the whole prompt in one launch. */
    static DevicePromptAttention dense(FlashAttention flash) {
        return new DevicePromptAttention() {
            @Override
            public void attend(CudaStream stream, int layer, DevicePointer q, DevicePointer k, DevicePointer v,
                               DevicePointer out, int length) {
                flash.prefill(stream, q, k, v, out, length, 0);
            }

            @Override
            public void close() {
            }
        };
    }
}
