package io.minference.bench.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;

/**
 * One prompt's bf16 attention buffers on the device for the attention benchmarks: q and o {@code [length,
 * queryDim]}, k and v {@code [length, kvDim]}, the inputs tiled with a block of random values (what the kernels read
 * is all that matters for timing), the output left uninitialized.
 */
record PromptBuffers(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer o) implements AutoCloseable {
    static PromptBuffers random(CudaBackend backend, AttentionShape shape, int length, short[] block) {
        long qBytes = 2L * length * shape.queryDim();
        long kvBytes = 2L * length * shape.kvDim();
        DeviceBuffer q = null, k = null, v = null;
        try {
            q = FlashAttentionBenchmark.filled(backend, qBytes, block);
            k = FlashAttentionBenchmark.filled(backend, kvBytes, block);
            v = FlashAttentionBenchmark.filled(backend, kvBytes, block);
            return new PromptBuffers(q, k, v, backend.context().allocate(qBytes));
        } catch (RuntimeException e) {
            for (DeviceBuffer made : new DeviceBuffer[] {q, k, v}) if (made != null) made.close();
            throw e;
        }
    }

    @Override
    public void close() {
        q.close();
        k.close();
        v.close();
        o.close();
    }
}
