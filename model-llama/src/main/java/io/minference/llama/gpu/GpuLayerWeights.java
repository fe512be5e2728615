package io.minference.llama.gpu;

import io.minference.runtime.cuda.DeviceTensor;

/**
 * One transformer block's weights on the device.
 *
 * @param attentionNorm f32 [dim]
 * @param wqkv          bf16 [(numHeads + 2 numKvHeads) headDim, dim]: wq's rows, then wk's, then wv's
 * @param wo            bf16 [dim, numHeads headDim]
 * @param ffnNorm       f32 [dim]
 * @param wGateUp       bf16 [2 hidden, dim]: wGate's rows then wUp's, each block padded with zero rows to the
 *                      padded hidden size
 * @param wDown         bf16 [dim, hidden], its columns padded with zeros to the padded hidden size
 */
public record GpuLayerWeights(DeviceTensor attentionNorm, DeviceTensor wqkv, DeviceTensor wo, DeviceTensor ffnNorm,
                              DeviceTensor wGateUp, DeviceTensor wDown) implements AutoCloseable {
    @Override
    public void close() {
        for (DeviceTensor t : new DeviceTensor[] {attentionNorm, wqkv, wo, ffnNorm, wGateUp, wDown}) {
            if (t != null) t.close();
        }
    }
}
