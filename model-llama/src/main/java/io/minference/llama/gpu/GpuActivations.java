package io.minference.llama.gpu;

import io.minference.llama.LlamaConfig;
import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.DeviceTensor;
import java.util.ArrayList;
import java.util.List;

/**
 * The device buffers of one chunk of up to {@code rows} tokens: the f32 residual stream and the bf16 inputs and
 * outputs of each GEMM, allocated once per forward pass. The output and down GEMMs add straight into the residual
 * stream, so no f32 GEMM output has a buffer of its own.
 */
record GpuActivations(int rows, DeviceTensor ids, DeviceTensor x, DeviceTensor normed, DeviceTensor qkv,
                      DeviceTensor q, DeviceTensor attention, DeviceTensor gateUp,
                      DeviceTensor hidden, DeviceTensor logits) implements AutoCloseable {

    static GpuActivations allocate(CudaContext context, LlamaConfig c, int paddedHidden, int rows) {
        int qDim = c.numHeads() * c.headDim();
        List<DeviceTensor> made = new ArrayList<>();
        try {
            return new GpuActivations(rows,
                    add(made, DeviceTensor.allocate(context, DType.I32, rows)),
                    add(made, DeviceTensor.allocate(context, DType.F32, rows, c.dim())),
                    add(made, DeviceTensor.allocate(context, DType.BF16, rows, c.dim())),
                    add(made, DeviceTensor.allocate(context, DType.BF16, rows, qDim + 2L * c.kvDim())),
                    add(made, DeviceTensor.allocate(context, DType.BF16, rows, qDim)),
                    add(made, DeviceTensor.allocate(context, DType.BF16, rows, qDim)),
                    add(made, DeviceTensor.allocate(context, DType.BF16, rows, 2L * paddedHidden)),
                    add(made, DeviceTensor.allocate(context, DType.BF16, rows, paddedHidden)),
                    add(made, DeviceTensor.allocate(context, DType.F32, 1, c.vocabSize())));
        } catch (RuntimeException e) {
            made.forEach(DeviceTensor::close);
            throw e;
        }
    }

    private static DeviceTensor add(List<DeviceTensor> made, DeviceTensor t) {
        made.add(t);
        return t;
    }

    /** The first {@code count} rows of a [rows, width] buffer, as the [count, width] matrix a GEMM takes. */
    static DeviceTensor firstRows(DeviceTensor t, int count) {
        return t.view(0, count, t.dim(1));
    }

    /** Row {@code r} of a [rows, width] buffer as a [1, width] matrix. */
    static DeviceTensor row(DeviceTensor t, int r) {
        return t.view((long) r * t.dim(1), 1, t.dim(1));
    }

    @Override
    public void close() {
        for (DeviceTensor t : new DeviceTensor[] {ids, x, normed, qkv, q, attention, gateUp, hidden,
                logits}) {
            t.close();
        }
    }
}
