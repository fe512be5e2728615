package io.minference.llama.gpu;

import io.minference.kernels.flash.PhaseMarks;
import io.minference.runtime.cuda.CudaStream;

/**
 * {@link PhaseMarks} that also take a mark before each kernel outside attention, for a per-kernel breakdown of the
 * linear part ({@link LinearKernel}). A kernel mark leaves the phase as it is; the interval up to the next mark of
 * either kind belongs to both.
 */
public interface KernelMarks extends PhaseMarks {
    /** The work queued on {@code stream} from now on is {@code kernel}, until the next mark. */
    void markKernel(CudaStream stream, LinearKernel kernel);

    KernelMarks NONE = new KernelMarks() {
        @Override
        public void mark(CudaStream stream, Phase phase) {
        }

        @Override
        public void markKernel(CudaStream stream, LinearKernel kernel) {
        }
    };
}
