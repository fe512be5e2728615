package io.minference.llama.gpu;

import io.minference.kernels.transformer.RopeFrequencies;
import io.minference.kernels.transformer.SyntheticWeightsKernel;
import io.minference.llama.LlamaConfig;
import io.minference.llama.synthetic.SyntheticModel;
import io.minference.llama.synthetic.SyntheticModel.TensorSpec;
import io.minference.llama.synthetic.SyntheticShape;
import io.minference.llama.synthetic.SyntheticWeights;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A synthetic model's weights made on the device by {@link SyntheticWeightsKernel}, with no host copy: the same
 * values as {@link SyntheticWeights} on the CPU (rounded to bf16 for matrices), laid out as
 * {@link GpuLlamaWeights#upload} lays out uploaded weights (Q/K/V stacked, gate/up stacked).
 */
public final class SyntheticGpuWeights {
    private static final SyntheticWeightsKernel BF16 = new SyntheticWeightsKernel(DType.BF16);
    private static final SyntheticWeightsKernel F32 = new SyntheticWeightsKernel(DType.F32);

    private SyntheticGpuWeights() {
    }

    public static GpuLlamaWeights generate(CudaBackend backend, SyntheticShape shape) {
        LlamaConfig c = shape.config();
        GpuLlamaWeights.requireKernelShapes(c);
        if (c.hiddenDim() % 8 != 0) {
            throw new IllegalArgumentException("weights made on the device need a feed-forward length that is a"
                    + " multiple of 8, got " + c.hiddenDim());
        }
        Map<String, TensorSpec> specs = SyntheticModel.tensors(shape).stream()
                .collect(Collectors.toMap(TensorSpec::name, Function.identity()));
        CudaContext context = backend.context();
        CudaStream stream = backend.stream();
        List<AutoCloseable> made = new ArrayList<>();
        try {
            DeviceTensor embedding = track(made, matrix(context, stream, specs.get("token_embd.weight")));
            DeviceTensor classifier = shape.sharedClassifier() ? embedding
                    : track(made, matrix(context, stream, specs.get("output.weight")));
            DeviceTensor outputNorm = track(made, norm(context, stream, specs.get("output_norm.weight")));
            DeviceTensor rope = track(made, DeviceTensor.upload(context, Tensor.ofFloats(
                    RopeFrequencies.table(c.headDim(), c.ropeTheta(), null), c.headDim() / 2, 2)));
            List<GpuLayerWeights> layers = new ArrayList<>();
            for (int l = 0; l < c.numLayers(); l++) {
                String p = "blk." + l + ".";
                GpuLayerWeights layer = new GpuLayerWeights(
                        norm(context, stream, specs.get(p + "attn_norm.weight")),
                        stacked(context, stream, specs.get(p + "attn_q.weight"), specs.get(p + "attn_k.weight"),
                                specs.get(p + "attn_v.weight")),
                        matrix(context, stream, specs.get(p + "attn_output.weight")),
                        norm(context, stream, specs.get(p + "ffn_norm.weight")),
                        stacked(context, stream, specs.get(p + "ffn_gate.weight"), specs.get(p + "ffn_up.weight")),
                        matrix(context, stream, specs.get(p + "ffn_down.weight")));
                track(made, layer);
                layers.add(layer);
            }
            stream.synchronize();
            return new GpuLlamaWeights(c, c.hiddenDim(), embedding, List.copyOf(layers), outputNorm, classifier, rope);
        } catch (RuntimeException e) {
            for (AutoCloseable resource : made.reversed()) {
                try {
                    resource.close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    private static DeviceTensor matrix(CudaContext context, CudaStream stream, TensorSpec spec) {
        return stacked(context, stream, spec);
    }

    /** The specs' matrices, all of one width, one under the other in a single bf16 tensor. */
    private static DeviceTensor stacked(CudaContext context, CudaStream stream, TensorSpec... parts) {
        long cols = parts[0].shape()[1];
        long rows = 0;
        for (TensorSpec part : parts) rows += part.shape()[0];
        DeviceTensor out = DeviceTensor.allocate(context, DType.BF16, rows, cols);
        long offset = 0;
        for (TensorSpec part : parts) {
            fill(BF16, stream, out.view(offset, part.shape()), part);
            offset += part.elementCount();
        }
        return out;
    }

    private static DeviceTensor norm(CudaContext context, CudaStream stream, TensorSpec spec) {
        DeviceTensor out = DeviceTensor.allocate(context, DType.F32, spec.shape());
        fill(F32, stream, out, spec);
        return out;
    }

    private static void fill(SyntheticWeightsKernel kernel, CudaStream stream, DeviceTensor out, TensorSpec spec) {
        SyntheticWeights.TensorKey key = spec.key();
        boolean norm = key.kind() == SyntheticWeights.Kind.NORM;
        kernel.launch(stream, out, 0, key.key(), norm ? 0x1p-4f : key.scale(), norm ? 1f : 0f);
    }

    private static <T extends AutoCloseable> T track(List<AutoCloseable> made, T resource) {
        made.add(resource);
        return resource;
    }
}
