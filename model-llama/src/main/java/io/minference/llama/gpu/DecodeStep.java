package io.minference.llama.gpu;

import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.PinnedHostBuffer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What changes from one decode step to the next, in device memory where a replayed CUDA graph reads it: the token
 * id, its position and the cache length after it (s32 each), written by an asynchronous copy from pinned host
 * memory queued before the step. Also the one-int slot where a token chosen on the device comes back, and the
 * device sampler's scratch.
 */
final class DecodeStep implements AutoCloseable {
    private static final int TOKEN = 0;
    private static final int POSITION = 1;
    private static final int LENGTH = 2;
    private static final int SLOTS = 4;

    private final PinnedHostBuffer hostValues;
    private final DeviceTensor values;
    private final PinnedHostBuffer hostChosen;
    private final DeviceTensor chosen;
    private final DeviceTensor sampleKeys;

    private DecodeStep(PinnedHostBuffer hostValues, DeviceTensor values, PinnedHostBuffer hostChosen,
                       DeviceTensor chosen, DeviceTensor sampleKeys) {
        this.hostValues = hostValues;
        this.values = values;
        this.hostChosen = hostChosen;
        this.chosen = chosen;
        this.sampleKeys = sampleKeys;
    }

    /** @param vocab the vocabulary size, for the sampler's scratch */
    static DecodeStep allocate(CudaContext context, int vocab) {
        PinnedHostBuffer hostValues = null, hostChosen = null;
        DeviceTensor values = null, chosen = null;
        try {
            hostValues = context.allocatePinned(4L * SLOTS);
            values = DeviceTensor.allocate(context, DType.I32, SLOTS);
            hostChosen = context.allocatePinned(4);
            chosen = DeviceTensor.allocate(context, DType.I32, 1);
            return new DecodeStep(hostValues, values, hostChosen, chosen, DeviceTensor.allocate(context, DType.I32,
                    vocab));
        } catch (RuntimeException e) {
            if (chosen != null) chosen.close();
            if (hostChosen != null) hostChosen.close();
            if (values != null) values.close();
            if (hostValues != null) hostValues.close();
            throw e;
        }
    }

    /**
     * Queues the copy of this step's values. Waits first for the stream, so that the pinned memory is never
     * rewritten while an earlier copy from it is pending.
     */
    void set(CudaStream stream, int token, int position) {
        stream.synchronize();
        MemorySegment host = hostValues.segment();
        host.setAtIndex(ValueLayout.JAVA_INT, TOKEN, token);
        host.setAtIndex(ValueLayout.JAVA_INT, POSITION, position);
        host.setAtIndex(ValueLayout.JAVA_INT, LENGTH, position + 1);
        values.buffer().copyFromHostAsync(hostValues, stream);
    }

    /** The token id, as the one-element ids array that the embedding gather reads. */
    DeviceTensor token() {
        return values.view(TOKEN, 1);
    }

    DeviceTensor position() {
        return values.view(POSITION, 1);
    }

    DeviceTensor length() {
        return values.view(LENGTH, 1);
    }

    /** Where a kernel writes a token it chose. */
    DeviceTensor chosen() {
        return chosen;
    }

    /** Scratch of one u32 per vocabulary entry for the device sampler. */
    DeviceTensor sampleKeys() {
        return sampleKeys;
    }

    /** Copies the chosen token back once the queued work is done. */
    int readChosen(CudaStream stream) {
        chosen.buffer().copyToHostAsync(hostChosen, stream);
        stream.synchronize();
        return hostChosen.segment().get(ValueLayout.JAVA_INT, 0);
    }

    @Override
    public void close() {
        sampleKeys.close();
        chosen.close();
        hostChosen.close();
        values.close();
        hostValues.close();
    }
}
